#!/bin/sh
# deploy/compose.yaml's "secrets" service: at first start, generates what the deployment must not ship
# (kept afterwards; delete a file to have it generated again):
#   /secrets/jwt-signing-key, postgres-password, redis-password   48 / 24 / 24 random bytes, hex
#   /secrets/redis.conf                                            requirepass for Redis
#   /tls/tls.crt, /tls/tls.key                                     a self-signed certificate for the
#                                                                   balancer, unless one is provided
# /secrets is deploy/.secrets and /tls is deploy/tls on the host; both are git-ignored.
set -eu
umask 077
hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
for entry in jwt-signing-key:48 postgres-password:24 redis-password:24; do
  name=${entry%%:*}
  [ -s "/secrets/$name" ] || { hex "${entry##*:}" > "/secrets/$name"; echo "generated $name"; }
done
[ -s /secrets/redis.conf ] || printf 'requirepass %s\n' "$(cat /secrets/redis-password)" > /secrets/redis.conf
# Readable by the hosts' user (the .NET images' "app", uid/gid 1654) and Redis (uid 999); PostgreSQL's
# entrypoint reads its password file as root. Nobody else.
chown 0:1654 /secrets/jwt-signing-key /secrets/postgres-password /secrets/redis-password
chmod 0440 /secrets/jwt-signing-key /secrets/postgres-password /secrets/redis-password
chown 999:999 /secrets/redis.conf
chmod 0400 /secrets/redis.conf
chmod 0755 /secrets
if [ ! -s /tls/tls.crt ] || [ ! -s /tls/tls.key ]; then
  echo "no certificate in deploy/tls: generating a self-signed one for ${TLS_HOSTNAME:-localhost} (replace it with a real one)"
  apk add --no-cache openssl >/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=${TLS_HOSTNAME:-localhost}" \
    -addext "subjectAltName=DNS:${TLS_HOSTNAME:-localhost}" -keyout /tls/tls.key -out /tls/tls.crt 2>/dev/null
fi
