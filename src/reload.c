/* SPDX-License-Identifier: MIT */
#include "reload.h"

#include "commands.h"
#include "supervisor.h"

char *rv_reload_request(struct rv_supervisor *sv, int64_t now)
{
	return rv_commands_error("reload is not implemented yet");
}
