#!/usr/bin/env bash
# Apache Kafka for make up, make test and the benchmarks: Java 17 and Maven from Debian if missing, then
# the broker's jars from Maven Central (tools/kafka/pom.xml) into .cache/kafka/<version>/, checked
# against tools/kafka/jars.sha256 (devstack.kafka). A second run finds them cached and does nothing.
set -euo pipefail
here="$(dirname "$0")"
status=0
bash "$here/apt-install.sh" "java mvn" --no-install-recommends openjdk-17-jre-headless maven || status=$?
[ "$status" = 10 ] || [ "$status" = 0 ] || exit "$status"
java_major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/ *java.specification.version = //p')
if [ "${java_major%%.*}" -lt 17 ]; then
  echo "Kafka 4 needs Java 17 or newer; 'java' here is $java_major" >&2
  exit 1
fi
${UV:-uv} run --frozen python -c 'from devstack import kafka; kafka.jars()'
