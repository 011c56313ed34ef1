#!/bin/sh
# Signs an agent certificate that expired long ago, with the openssl command
# (atlax-pki refuses past dates, and faketime cannot preload into ASan builds).
#
#   expired_cert.sh CA_DIR CN OUT_PREFIX
#
# Uses CA_DIR/ca.crt and CA_DIR/ca.key; writes OUT_PREFIX.crt and .key (0600),
# valid 2020-01-01 to 2020-02-01, EKU clientAuth like an atlax-pki agent cert.
set -eu
ca=$1 cn=$2 out=$3
w=$(mktemp -d /tmp/atlax-expired.XXXXXX)
trap 'rm -rf "$w"' EXIT
: >"$w/index.txt"
cat >"$w/ca.cnf" <<C
[ca]
default_ca = old
[old]
database = $w/index.txt
new_certs_dir = $w
serial = $w/serial
default_md = sha256
policy = pol
x509_extensions = ext
unique_subject = no
[pol]
commonName = supplied
[ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
C
openssl rand -hex 16 >"$w/serial"
umask 077
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$out.key" -subj "/CN=$cn" -out "$w/req.csr" 2>"$w/err" ||
    { cat "$w/err" >&2; exit 1; }
openssl ca -batch -config "$w/ca.cnf" -cert "$ca/ca.crt" -keyfile "$ca/ca.key" \
    -in "$w/req.csr" -out "$out.crt" -notext \
    -startdate 20200101000000Z -enddate 20200201000000Z 2>"$w/err" ||
    { cat "$w/err" >&2; exit 1; }
