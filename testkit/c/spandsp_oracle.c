/* A filter over spandsp's G.711 and G.722 (the ITU reference code as spandsp carries it),
 * for mediaplane's oracle tests: reads all of stdin, writes the result to stdout.
 *
 *   spandsp_oracle ulaw-enc|alaw-enc   s16le in   -> codes out
 *   spandsp_oracle ulaw-dec|alaw-dec   codes in   -> s16le out
 *   spandsp_oracle u2a|a2u             codes in   -> codes out   (G.711 Tables 3 and 4)
 *   spandsp_oracle g722-enc            s16le 16 kHz in -> G.722 64 kbit/s codes out
 *   spandsp_oracle g722-dec            codes in -> s16le 16 kHz out
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <spandsp.h>

static uint8_t *read_all(size_t *len) {
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, stdin)) > 0) {
        n += got;
        if (n == cap) { cap *= 2; buf = realloc(buf, cap); }
    }
    *len = n;
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: spandsp_oracle MODE < in > out\n"); return 2; }
    const char *mode = argv[1];
    size_t len;
    uint8_t *in = read_all(&len);
    const int16_t *pcm = (const int16_t *) in;
    size_t samples = len / 2;
    if (!strcmp(mode, "ulaw-enc") || !strcmp(mode, "alaw-enc")) {
        int ulaw = mode[0] == 'u';
        for (size_t i = 0; i < samples; i++) putchar(ulaw ? linear_to_ulaw(pcm[i]) : linear_to_alaw(pcm[i]));
    } else if (!strcmp(mode, "ulaw-dec") || !strcmp(mode, "alaw-dec")) {
        int ulaw = mode[0] == 'u';
        for (size_t i = 0; i < len; i++) {
            int16_t v = ulaw ? ulaw_to_linear(in[i]) : alaw_to_linear(in[i]);
            fwrite(&v, 2, 1, stdout);
        }
    } else if (!strcmp(mode, "u2a") || !strcmp(mode, "a2u")) {
        for (size_t i = 0; i < len; i++) putchar(mode[0] == 'u' ? ulaw_to_alaw(in[i]) : alaw_to_ulaw(in[i]));
    } else if (!strcmp(mode, "g722-enc")) {
        g722_encode_state_t *s = g722_encode_init(NULL, 64000, 0);
        uint8_t *out = malloc(samples / 2 + 16);
        int n = g722_encode(s, out, pcm, (int) samples);
        fwrite(out, 1, (size_t) n, stdout);
    } else if (!strcmp(mode, "g722-dec")) {
        g722_decode_state_t *s = g722_decode_init(NULL, 64000, 0);
        int16_t *out = malloc(len * 2 * sizeof(int16_t) + 16);
        int n = g722_decode(s, out, in, (int) len);
        fwrite(out, 2, (size_t) n, stdout);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    return 0;
}
