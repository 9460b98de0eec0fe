#!/usr/bin/env bash
# Apache Kafka for make up, make test and the benchmarks: Java 17 and Maven from Debian if missing, then
# the broker's jars from Maven Central (tools/kafka/pom.xml) into .cache/kafka/<version>/, checked
# against tools/kafka/jars.sha256 (devstack.kafka). A second run finds them cached and does nothing.
set -euo pipefail
here="$(dirname "$0")"
if [ "${BROKER:-kafka}" = tansu ]; then
  echo "BROKER=tansu: Java, Maven and Kafka's jars not needed"
  exit 0
fi
status=0
bash "$here/apt-install.sh" "java mvn" --no-install-recommends openjdk-17-jre-headless maven || status=$?
[ "$status" = 10 ] || [ "$status" = 0 ] || exit "$status"
java_major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/ *java.specification.version = //p')
case "${java_major%%.*}" in
  '' | *[!0-9]*) java_major_number=0 ;;  # not a number: java missing or its output not understood
  *) java_major_number="${java_major%%.*}" ;;
esac
if [ "$java_major_number" -lt 17 ]; then
  echo "Kafka 4 needs Java 17 or newer; 'java' here says its version is '${java_major}'" >&2
  exit 1
fi
${UV:-uv} run --frozen python -c 'from devstack import kafka; kafka.jars()'
