//go:build tools

// Package tools pins the programs this module builds, so `go mod tidy` keeps their dependencies.
package tools

import (
	_ "go.temporal.io/server/cmd/server"
	_ "go.temporal.io/server/cmd/tools/sql"
)
