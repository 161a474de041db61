#!/usr/bin/env bash
# CoAP over DTLS with libcoap's GnuTLS build: the cases of coap_openssl.sh,
# run with coap-client-gnutls.
set -euo pipefail
export COAP_CLIENT=coap-client-gnutls
exec bash "$(dirname "${BASH_SOURCE[0]}")/coap_openssl.sh" "$@"
