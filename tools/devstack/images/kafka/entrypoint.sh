#!/bin/sh
# One KRaft node (broker and controller): its settings (devstack's defaults and authentication, made by
# `make images` from devstack.kafka and devstack.broker_auth, plus this node's listeners), its log
# directory formatted on the first start with the admin's SCRAM key, then the broker.
#
#   KAFKA_PASSWORD_ADMIN   the admin's password (required): the nodes authenticate to each other with it,
#                          and grant_broker_access creates the services' users with it
#   ADVERTISED_LISTENER    the address clients are told to use, e.g. BROKER://broker:9092
#   KAFKA_NODE_ID          this node's id (default 1)
#   KAFKA_CONTROLLER_QUORUM_VOTERS
#                          a cluster's controllers, id@host:9093,...; empty: this node alone
#   CLUSTER_ID             the same on every node of a cluster
#   KAFKA_EXTRA_PROPERTIES more server.properties lines (a cluster's replication settings, say)
set -eu
: "${KAFKA_PASSWORD_ADMIN:?the admin's password is required (compose: --env-file .run/local.env)}"
case "$KAFKA_PASSWORD_ADMIN" in
  *[!A-Za-z0-9_-]*) echo "KAFKA_PASSWORD_ADMIN: use letters, digits, '-' and '_' only" >&2; exit 2 ;;
esac
DATA=/var/lib/kafka
CONFIG="$DATA/server.properties"
NODE_ID="${KAFKA_NODE_ID:-1}"
VOTERS="${KAFKA_CONTROLLER_QUORUM_VOTERS:-}"
sed "s/@ADMIN_PASSWORD@/$KAFKA_PASSWORD_ADMIN/g" /opt/kafka/defaults.properties > "$CONFIG"
cat >> "$CONFIG" <<PROPERTIES
node.id=$NODE_ID
listeners=BROKER://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093
advertised.listeners=${ADVERTISED_LISTENER}
log.dirs=$DATA/log
PROPERTIES
if [ -n "$VOTERS" ]; then
  echo "controller.quorum.voters=$VOTERS" >> "$CONFIG"
  FORMAT_QUORUM=""
else
  echo "controller.quorum.bootstrap.servers=127.0.0.1:9093" >> "$CONFIG"
  FORMAT_QUORUM="--standalone"
fi
printf '%s\n' "${KAFKA_EXTRA_PROPERTIES:-}" >> "$CONFIG"
if [ ! -f "$DATA/log/meta.properties" ]; then
  # shellcheck disable=SC2086 # FORMAT_QUORUM is one option or none
  java @/opt/kafka/jvm.options -cp '/opt/kafka/libs/*' kafka.tools.StorageTool \
    format -t "${CLUSTER_ID:-c2FnYS1yZWZlcmVuY2UtMQ}" -c "$CONFIG" $FORMAT_QUORUM \
    --add-scram "SCRAM-SHA-512=[name=admin,password=$KAFKA_PASSWORD_ADMIN]" >/dev/null
fi
exec java @/opt/kafka/jvm.options -cp '/opt/kafka/libs/*' kafka.Kafka "$CONFIG"
