/* SPDX-License-Identifier: MIT */
/*
 * `ringvisor check`: what a service needs of this machine to start that is
 * not there — a command (or ready_check, health_check) that is not an
 * executable file here or in PATH, a working_directory that is not a
 * directory.  Warnings at the service's section line, never errors: the
 * config may be meant for another machine (`check --strict` fails them).
 */
#ifndef RV_EXEC_CHECK_H
#define RV_EXEC_CHECK_H

#include "config/config.h"

void rv_exec_check_specs(const struct rv_specs *specs, struct rv_diag *d);

#endif
