#!/usr/bin/env bash
# Exports what the wrk scenarios draw from for one tenant into WORK: stores with a terminal,
# variants with their barcodes, 3-letter name prefixes as search queries, customer ids. Run it
# before creating anything the scenarios delete (those must not be sold); then make-data.py
# writes WORK/data.lua and WORK/data.json.
#   bench/export-data.sh WORK TENANT PSQL-CONNECTION-ARGS...
set -euo pipefail
work=$1 tenant=$2
shift 2
q() { psql "$@" -v ON_ERROR_STOP=1 -At -F $'\t'; }
q "$@" -c "SELECT s.id, t.id FROM stores s JOIN terminals t ON t.store_id = s.id WHERE s.tenant_id = '$tenant' AND s.deleted_at IS NULL AND t.deleted_at IS NULL" > "$work/stores.tsv"
q "$@" -c "SELECT v.id, v.product_id, b.barcode FROM product_variants v JOIN variant_barcodes b ON b.variant_id = v.id AND b.deleted_at IS NULL WHERE v.tenant_id = '$tenant' AND v.deleted_at IS NULL" > "$work/variants.tsv"
q "$@" -c "SELECT DISTINCT lower(substr(name, 1, 3)) FROM products WHERE tenant_id = '$tenant' AND length(name) >= 3" > "$work/queries.txt"
q "$@" -c "SELECT id FROM customers WHERE tenant_id = '$tenant' AND deleted_at IS NULL LIMIT 1000" > "$work/customers.txt"
