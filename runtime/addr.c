/* addr.c — transport addresses: parsing, canonical keys, printable names.
 * Owns the one canonical form (family, port, address bytes) that the peer
 * table hashes and the engine binds cookies to. Numeric addresses only
 * ("localhost" aside); never does a blocking name lookup.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rt_internal.h"

void rt_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int rt_addr_from_sockaddr(rt_addr *out, const struct sockaddr *sa)
{
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        memcpy(&out->sa, in, sizeof *in);
        out->key[0] = 4;
        memcpy(out->key + 1, &in->sin_port, 2);
        memcpy(out->key + 3, &in->sin_addr, 4);
        out->key_len = 7;
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(&out->sa, in6, sizeof *in6);
        out->key[0] = 6;
        memcpy(out->key + 1, &in6->sin6_port, 2);
        memcpy(out->key + 3, &in6->sin6_addr, 16);
        out->key_len = 19;
        return 0;
    }
    return -1;
}

int rt_addr_parse(rt_addr *out, int family, const char *address, int port)
{
    if (port < 0 || port > 65535)
        return UV_EINVAL;
    if (address != NULL && strcmp(address, "localhost") == 0)
        address = family == 6 ? "::1" : "127.0.0.1";
    if (family == 6) {
        struct sockaddr_in6 in6;
        int r = uv_ip6_addr(address ? address : "::", port, &in6);
        if (r != 0)
            return r;
        return rt_addr_from_sockaddr(out, (const struct sockaddr *)&in6) == 0 ? 0 : UV_EINVAL;
    }
    struct sockaddr_in in;
    int r = uv_ip4_addr(address ? address : "0.0.0.0", port, &in);
    if (r != 0)
        return r;
    /* uv_ip4_addr accepts shorthand like "1"; insist on a full dotted quad. */
    struct in_addr check;
    if (address && inet_pton(AF_INET, address, &check) != 1)
        return UV_EINVAL;
    return rt_addr_from_sockaddr(out, (const struct sockaddr *)&in) == 0 ? 0 : UV_EINVAL;
}

void rt_addr_name(const struct sockaddr *sa, rt_sockname *out)
{
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        uv_ip6_name(in6, out->address, sizeof out->address);
        out->port = ntohs(in6->sin6_port);
        out->family = "IPv6";
    } else {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        uv_ip4_name(in, out->address, sizeof out->address);
        out->port = ntohs(in->sin_port);
        out->family = "IPv4";
    }
}

void rt_addr_text(const rt_sockname *name, char *out, size_t cap)
{
    if (name->family && strcmp(name->family, "IPv6") == 0)
        snprintf(out, cap, "[%s]:%d", name->address, name->port);
    else
        snprintf(out, cap, "%s:%d", name->address, name->port);
}
