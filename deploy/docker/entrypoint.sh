#!/bin/sh
# Starts a JowiShop host (dotnet JowiShop.ApiHost.dll or JowiShop.Silo.dll) after reading its secrets
# from files, so that no secret has to sit in an environment definition. With JOWISHOP_SECRETS_DIR set
# (compose: the generated deploy/.secrets; Kubernetes: a mounted Secret), each file that exists is used:
#   jwt-signing-key     -> Jwt__SigningKey
#   postgres-password   -> ";Password=..." appended to ConnectionStrings__Postgres
#   redis-password      -> ",password=..." appended to ConnectionStrings__Redis
# Without it, the configuration is taken as given (environment, appsettings).
set -eu
dir=${JOWISHOP_SECRETS_DIR:-}
if [ -n "$dir" ]; then
  [ -d "$dir" ] || { echo "JOWISHOP_SECRETS_DIR=$dir is not a directory" >&2; exit 1; }
  if [ -f "$dir/jwt-signing-key" ]; then
    Jwt__SigningKey=$(cat "$dir/jwt-signing-key"); export Jwt__SigningKey
  fi
  if [ -f "$dir/postgres-password" ]; then
    ConnectionStrings__Postgres="${ConnectionStrings__Postgres:?is required};Password=$(cat "$dir/postgres-password")"
    export ConnectionStrings__Postgres
  fi
  if [ -f "$dir/redis-password" ]; then
    ConnectionStrings__Redis="${ConnectionStrings__Redis:?is required},password=$(cat "$dir/redis-password")"
    export ConnectionStrings__Redis
  fi
fi
exec dotnet "$@"
