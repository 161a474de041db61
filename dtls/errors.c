/* errors.c — names for alerts and error codes. Static strings only: no
 * message built here ever carries key material or peer data. */
#include "internal.h"

const char *dtls_alert_name(int desc)
{
    switch (desc) {
    case DTLS_ALERT_CLOSE_NOTIFY: return "close_notify";
    case DTLS_ALERT_UNEXPECTED_MESSAGE: return "unexpected_message";
    case DTLS_ALERT_BAD_RECORD_MAC: return "bad_record_mac";
    case DTLS_ALERT_RECORD_OVERFLOW: return "record_overflow";
    case DTLS_ALERT_HANDSHAKE_FAILURE: return "handshake_failure";
    case DTLS_ALERT_BAD_CERTIFICATE: return "bad_certificate";
    case DTLS_ALERT_UNSUPPORTED_CERTIFICATE: return "unsupported_certificate";
    case DTLS_ALERT_CERTIFICATE_REVOKED: return "certificate_revoked";
    case DTLS_ALERT_CERTIFICATE_EXPIRED: return "certificate_expired";
    case DTLS_ALERT_CERTIFICATE_UNKNOWN: return "certificate_unknown";
    case DTLS_ALERT_ILLEGAL_PARAMETER: return "illegal_parameter";
    case DTLS_ALERT_UNKNOWN_CA: return "unknown_ca";
    case DTLS_ALERT_ACCESS_DENIED: return "access_denied";
    case DTLS_ALERT_DECODE_ERROR: return "decode_error";
    case DTLS_ALERT_DECRYPT_ERROR: return "decrypt_error";
    case DTLS_ALERT_PROTOCOL_VERSION: return "protocol_version";
    case DTLS_ALERT_INSUFFICIENT_SECURITY: return "insufficient_security";
    case DTLS_ALERT_INAPPROPRIATE_FALLBACK: return "inappropriate_fallback";
    case DTLS_ALERT_INTERNAL_ERROR: return "internal_error";
    case DTLS_ALERT_USER_CANCELED: return "user_canceled";
    case DTLS_ALERT_NO_RENEGOTIATION: return "no_renegotiation";
    case DTLS_ALERT_UNSUPPORTED_EXTENSION: return "unsupported_extension";
    case DTLS_ALERT_UNRECOGNIZED_NAME: return "unrecognized_name";
    case DTLS_ALERT_UNKNOWN_PSK_IDENTITY: return "unknown_psk_identity";
    default: return "alert";
    }
}

int dtls_err_alert(int err)
{
    if (err > DTLS_ERR_ALERT_BASE || err < DTLS_ERR_ALERT_BASE - 255)
        return -1;
    return DTLS_ERR_ALERT_BASE - err;
}

const char *dtls_strerror(int err)
{
    int alert = dtls_err_alert(err);
    if (alert >= 0)
        return dtls_alert_name(alert);
    switch (err) {
    case DTLS_OK: return "ok";
    case DTLS_ERR_INTERNAL: return "internal error";
    case DTLS_ERR_ARG: return "invalid argument";
    case DTLS_ERR_STATE: return "not allowed in this state";
    case DTLS_ERR_TOO_BIG: return "message too big for one record";
    case DTLS_ERR_CLOSED: return "connection closed";
    case DTLS_ERR_TIMEOUT: return "handshake timed out";
    case DTLS_ERR_SEQ_EXHAUSTED: return "record sequence numbers ran out (RFC 6347 4.1)";
    default: return "unknown error";
    }
}
