/* server_context.c — setSecureContext: a server takes a new engine
 * configuration (certificate, key, CAs) for the handshakes that start from
 * now on. Connections keep the configuration they began with (the engine
 * requires a config not to change under them), so replaced ones are kept,
 * retired, until the server is freed. Never touches a live connection.
 */
#include <stdlib.h>

#include "rt_internal.h"

int rt_server_set_tls(rt_server *s, const rt_tls_options *opt, char *err, size_t errlen)
{
    if (s->closing) {
        rt_errf(err, errlen, "server is closed");
        return -1;
    }
    dtls_config **retired = realloc(s->retired, (s->nretired + 1) * sizeof *retired);
    if (retired == NULL) {
        rt_errf(err, errlen, "out of memory");
        return -1;
    }
    s->retired = retired;
    dtls_config *config = rt_tls_config_build(opt, DTLS_ROLE_SERVER, err, errlen);
    if (config == NULL)
        return -1;
    s->retired[s->nretired++] = s->config;
    s->config = config;
    s->verify = opt->ca ? RT_VERIFY_CHECKED : RT_VERIFY_NO_CA;
    s->own_ticket_keys = opt->ticket_keys != NULL;
    s->own_cookie_secret = opt->cookie_secret != NULL;
    rt_log(RT_LOG_INFO, NULL, "new secure context: new handshakes use it");
    return 0;
}

void rt_server_free_retired(rt_server *s)
{
    for (size_t i = 0; i < s->nretired; i++)
        dtls_config_free(s->retired[i]);
    free(s->retired);
    s->retired = NULL;
    s->nretired = 0;
}

/* Only the configuration new handshakes use: a retired one keeps the keys
 * it had until its last connection is gone. Ticket keys and the cookie
 * secret are read only when a ticket is sealed or opened and a cookie made
 * or checked, so changing them under live connections is safe. */
void rt_server_refresh_secrets(rt_server *s)
{
    rt_secrets_apply(s->config, s->own_ticket_keys, s->own_cookie_secret);
}
