#!/bin/sh
# One KRaft node: its settings (devstack's defaults, made by `make images` from devstack.kafka, plus this
# node's listeners), its log directory formatted on the first start, then the broker.
set -eu
DATA=/var/lib/kafka
CONFIG="$DATA/server.properties"
cp /opt/kafka/defaults.properties "$CONFIG"
cat >> "$CONFIG" <<PROPERTIES
node.id=1
listeners=PLAINTEXT://0.0.0.0:9092,CONTROLLER://127.0.0.1:9093
advertised.listeners=${ADVERTISED_LISTENER}
controller.quorum.bootstrap.servers=127.0.0.1:9093
log.dirs=$DATA/log
PROPERTIES
if [ ! -f "$DATA/log/meta.properties" ]; then
  java @/opt/kafka/jvm.options -cp '/opt/kafka/libs/*' kafka.tools.StorageTool \
    format -t "${CLUSTER_ID:-c2FnYS1yZWZlcmVuY2UtMQ}" -c "$CONFIG" --standalone >/dev/null
fi
exec java @/opt/kafka/jvm.options -cp '/opt/kafka/libs/*' kafka.Kafka "$CONFIG"
