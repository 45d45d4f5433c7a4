/* SPDX-License-Identifier: MIT */
/*
 * What `ringvisor reload` prints: the applied difference as counts, then
 * the services it touched, one per line, and its warnings on stderr:
 *
 *   reload: 1 added, 1 removed, 2 restarted, 5 unchanged
 *   added cache
 *   removed old
 *   restarted web@0
 *   ringvisor: warning: backend, ... take effect when ringvisor restarts
 *
 * A reload queued behind one being applied says so (`reload: queued`).
 */
#include <jansson.h>
#include <stdio.h>

#include "cli/cli.h"

void rv_cli_print_reload(json_t *reply)
{
	/* the reply's keys, and what they are called for people */
	static const char *const keys[][2] = {
		{ "started", "added" }, { "stopped", "removed" },
		{ "restarted", "restarted" },
	};
	json_t *v;
	size_t i;

	if (json_is_true(json_object_get(reply, "queued"))) {
		puts("reload: queued (applied when the one in progress is "
		     "done)");
		return;
	}
	printf("reload: %zu added, %zu removed, %zu restarted, %lld "
	       "unchanged\n",
	       json_array_size(json_object_get(reply, "started")),
	       json_array_size(json_object_get(reply, "stopped")),
	       json_array_size(json_object_get(reply, "restarted")),
	       (long long)json_integer_value(json_object_get(reply,
							     "unchanged")));
	for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++)
		json_array_foreach(json_object_get(reply, keys[k][0]), i, v)
			printf("%s %s\n", keys[k][1], json_string_value(v));
	fflush(stdout);
	json_array_foreach(json_object_get(reply, "warnings"), i, v)
		fprintf(stderr, "ringvisor: warning: %s\n",
			json_string_value(v));
}
