//go:build tools

// Package tools pins the programs this module builds, so `go mod tidy` keeps their dependencies.
package tools

import _ "github.com/tilt-dev/tilt/cmd/tilt"
