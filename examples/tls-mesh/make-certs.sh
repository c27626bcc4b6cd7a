#!/bin/sh
# Make a CA and one certificate per node for examples/tls-mesh, with receptor's own tooling
# (`receptor cert`, no openssl). Each certificate carries its node ID (the otherName SAN that
# receptor checks) and 127.0.0.1 / localhost, so dialers can verify the listener by address.
#
#   examples/tls-mesh/make-certs.sh [OUTDIR]      (default /tmp/receptor-tls-example/certs)
#
# Set RECEPTOR to the command that runs receptor if it is not on PATH, e.g.
#   RECEPTOR="npx deno task receptor" examples/tls-mesh/make-certs.sh
set -eu
RECEPTOR=${RECEPTOR:-receptor}
OUT=${1:-/tmp/receptor-tls-example/certs}
mkdir -p "$OUT"

$RECEPTOR cert init --commonname "Receptor Example CA" --bits 2048 \
  --outcert "$OUT/ca.crt" --outkey "$OUT/ca.key"

for node in controller hop1 exec1; do
  $RECEPTOR cert makereq --commonname "$node" --bits 2048 --nodeid "$node" \
    --dnsname localhost --ipaddress 127.0.0.1 \
    --outreq "$OUT/$node.csr" --outkey "$OUT/$node.key"
  $RECEPTOR cert signreq --req "$OUT/$node.csr" --cacert "$OUT/ca.crt" --cakey "$OUT/ca.key" \
    --outcert "$OUT/$node.crt" --verify
done
# A certificate for an operator running receptorctl against hop1's TLS control port.
$RECEPTOR cert makereq --commonname operator --bits 2048 --nodeid operator \
  --outreq "$OUT/operator.csr" --outkey "$OUT/operator.key"
$RECEPTOR cert signreq --req "$OUT/operator.csr" --cacert "$OUT/ca.crt" --cakey "$OUT/ca.key" \
  --outcert "$OUT/operator.crt" --verify
echo "certificates written to $OUT"
