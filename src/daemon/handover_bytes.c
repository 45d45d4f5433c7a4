/* SPDX-License-Identifier: MIT */
/*
 * Hex and base64 for the hand-over state (handover_bytes.h).  Strict on
 * reading: the state is written by ringvisor, so anything but the exact
 * spelling it writes is a damaged state.
 */
#include "daemon/handover_bytes.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

json_t *rv_json_hex(const char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *text = malloc(2 * n + 1);
	json_t *v;

	if (!text)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		text[2 * i] = digits[(unsigned char)p[i] >> 4];
		text[2 * i + 1] = digits[(unsigned char)p[i] & 15];
	}
	v = json_stringn(text, 2 * n);
	free(text);
	return v;
}

json_t *rv_json_base64(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	char *text = malloc((n + 2) / 3 * 4 + 1), *w = text;
	json_t *v;

	if (!text)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned long x = (unsigned long)u[i] << 16;

		if (i + 1 < n)
			x |= (unsigned long)u[i + 1] << 8;
		if (i + 2 < n)
			x |= u[i + 2];
		*w++ = b64[x >> 18 & 63];
		*w++ = b64[x >> 12 & 63];
		*w++ = i + 1 < n ? b64[x >> 6 & 63] : '=';
		*w++ = i + 2 < n ? b64[x & 63] : '=';
	}
	v = json_stringn(text, (size_t)(w - text));
	free(text);
	return v;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int rv_hex_decode(const char *text, size_t len, char **out, size_t *n)
{
	char *b;

	*out = NULL;
	*n = 0;
	if (len % 2)
		return -EINVAL;
	b = malloc(len / 2 + 1);
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_digit(text[i]), lo = hex_digit(text[i + 1]);

		if (hi < 0 || lo < 0) {
			free(b);
			return -EINVAL;
		}
		b[i / 2] = (char)(hi << 4 | lo);
	}
	b[len / 2] = '\0';
	*out = b;
	*n = len / 2;
	return 0;
}

int rv_base64_decode(const char *text, size_t len, char **out, size_t *n)
{
	size_t pad = 0, k = 0;
	char *b;

	*out = NULL;
	*n = 0;
	if (len % 4)
		return -EINVAL;
	while (pad < 2 && pad < len && text[len - 1 - pad] == '=')
		pad++;
	b = malloc(len / 4 * 3 + 1);
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 4) {
		unsigned long x = 0;

		for (size_t j = 0; j < 4; j++) {
			const char *at = text[i + j] ? strchr(b64, text[i + j]) :
						       NULL;
			bool padding = i + j >= len - pad;

			if (!padding && !at) {
				free(b);
				return -EINVAL;
			}
			x = x << 6 | (padding ? 0 : (unsigned long)(at - b64));
		}
		b[k++] = (char)(x >> 16);
		b[k++] = (char)(x >> 8 & 255);
		b[k++] = (char)(x & 255);
	}
	k -= pad;
	b[k] = '\0';
	*out = b;
	*n = k;
	return 0;
}
