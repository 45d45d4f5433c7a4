// SPDX-License-Identifier: MIT
/*
 * http_listen addresses (src/config/listen.c): a table of values, what
 * they parse to, and the reason given for those refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "config/http_address.h"

static void test_accepted(void **state)
{
	static const struct {
		const char *in;
		int family;
		const char *host;	/* inet_ntop, or the unix path */
		unsigned short port;
	} cases[] = {
		{ "127.0.0.1:9100", AF_INET, "127.0.0.1", 9100 },
		{ "0.0.0.0:1", AF_INET, "0.0.0.0", 1 },
		{ "10.1.2.3:65535", AF_INET, "10.1.2.3", 65535 },
		{ "[::1]:9100", AF_INET6, "::1", 9100 },
		{ "[::]:80", AF_INET6, "::", 80 },
		{ "[fe80::1]:8080", AF_INET6, "fe80::1", 8080 },
		{ "unix:/run/ringvisor/http.sock", AF_UNIX,
		  "/run/ringvisor/http.sock", 0 },
		{ "/tmp/h.sock", AF_UNIX, "/tmp/h.sock", 0 },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct rv_listen_addr a;
		char why[160] = "", host[INET6_ADDRSTRLEN];
		const void *addr = NULL;
		unsigned short port = 0;

		if (rv_listen_parse(cases[i].in, &a, why, sizeof(why)))
			fail_msg("%s: refused: %s", cases[i].in, why);
		assert_int_equal(a.sa.ss_family, cases[i].family);
		if (a.sa.ss_family == AF_UNIX) {
			assert_string_equal(
				((struct sockaddr_un *)&a.sa)->sun_path,
				cases[i].host);
			assert_int_equal(a.len, sizeof(struct sockaddr_un));
			continue;
		}
		if (a.sa.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&a.sa;

			addr = &in->sin_addr;
			port = ntohs(in->sin_port);
			assert_int_equal(a.len, sizeof(*in));
		} else {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a.sa;

			addr = &in6->sin6_addr;
			port = ntohs(in6->sin6_port);
			assert_int_equal(a.len, sizeof(*in6));
		}
		assert_non_null(inet_ntop(a.sa.ss_family, addr, host,
					  sizeof(host)));
		assert_string_equal(host, cases[i].host);
		assert_int_equal(port, cases[i].port);
	}
}

static void test_refused(void **state)
{
	static const struct {
		const char *in;
		const char *why;	/* a part of the reason */
	} cases[] = {
		{ "", "expected ADDRESS:PORT" },
		{ "127.0.0.1", "expected ADDRESS:PORT" },
		{ "localhost:9100", "names are not resolved" },
		{ "::1:9100", "not an IP address" },
		{ "127.0.0.1:0", "from 1 to 65535" },
		{ "127.0.0.1:65536", "from 1 to 65535" },
		{ "127.0.0.1:-1", "from 1 to 65535" },
		{ "127.0.0.1:+80", "from 1 to 65535" },
		{ "127.0.0.1:80x", "from 1 to 65535" },
		{ "127.0.0.1:", "from 1 to 65535" },
		{ "[::1]", "brackets and a port" },
		{ "[::1]9100", "brackets and a port" },
		{ "[127.0.0.1]:80", "not an IPv6 address" },
		{ "unix:", "absolute path" },
		{ "unix:run/x.sock", "absolute path" },
		{ "unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock",
		  "too long" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct rv_listen_addr a;
		char why[160] = "";

		if (rv_listen_parse(cases[i].in, &a, why, sizeof(why)) !=
		    -EINVAL)
			fail_msg("\"%s\": accepted", cases[i].in);
		if (!strstr(why, cases[i].why))
			fail_msg("\"%s\": reason \"%s\" lacks \"%s\"",
				 cases[i].in, why, cases[i].why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
