/*
 * The OpenSSL oracle: runs a script of TLS calls on a client and a server, each over an OpenSSL BIO pair,
 * and prints what every call returned and what SSL_get_error said. tests/openssl_semantics_test.ts runs the
 * same script on airlock and compares the two, step by step.
 *
 *   oracle CERT.pem KEY.pem < script
 *
 * Script: one command a line; blank lines and lines starting with '#' are skipped. SIDE is c or s.
 *   option SIDE NAME        before start: partial (SSL_MODE_ENABLE_PARTIAL_WRITE), moving
 *                           (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER), ignore_eof (SSL_OP_IGNORE_UNEXPECTED_EOF),
 *                           tls12 or tls13 (the only version), no_tickets (SSL_OP_NO_TICKET, server),
 *                           hello_cb (server: a client-hello callback that asks to be called again once,
 *                           SSL_CLIENT_HELLO_RETRY), cert_cb (server: a certificate callback that does the
 *                           same, returning -1 once), retry_verify (client: the verify callback calls
 *                           SSL_set_retry_verify until the script gives a verdict)
 *   start CAP               create both sides over BIO pairs whose buffers hold CAP bytes each way
 *   hs SIDE                 SSL_do_handshake
 *   read SIDE N             SSL_read into an N-byte buffer
 *   peek SIDE N             SSL_peek into an N-byte buffer
 *   write SIDE N [BUF]      SSL_write of N bytes from buffer BUF (0..3, default 0; for moving-buffer retries)
 *   shutdown SIDE           SSL_shutdown
 *   pending SIDE            SSL_pending, and SSL_has_pending
 *   move SIDE [N]           move up to N bytes (default: all that fit) from SIDE's network output to the
 *                           peer's network input
 *   inject SIDE HEX         put raw bytes into SIDE's network input, as if the peer sent them
 *   drop SIDE               discard what SIDE has written to its network output
 *   eof SIDE                close SIDE's network input: SIDE reads end of stream once it is drained
 *   verdict SIDE 0|1        the verdict on the peer's chain that retry_verify waits for
 *
 * Output: one line a command, "LINE: COMMAND -> RESULT", where RESULT is "ret=R err=NAME" for an SSL call
 * (with "reason=TEXT" when the error queue holds a reason), "moved=N" for move and drop, "pending=N has=B".
 *
 * Built by tests/openssl_semantics_test.ts with the system compiler against Debian's libssl-dev.
 */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BUF (1 << 20)

struct side {
  SSL_CTX *ctx;
  SSL *ssl;
  BIO *net; /* our network half: what the SSL writes comes out here; what we write here goes to the SSL */
  long modes;
  long options;
  int version;
  int hello_cb, cert_cb, retry_verify;
  int hello_calls, cert_calls;
  int verdict; /* -1 until the script gives one */
};

static struct side sides[2];
static unsigned char *bufs[4];
static unsigned char *scratch;

static int hello_cb(SSL *ssl, int *alert, void *arg) {
  (void)ssl;
  (void)alert;
  struct side *sd = arg;
  return sd->hello_calls++ == 0 ? SSL_CLIENT_HELLO_RETRY : SSL_CLIENT_HELLO_SUCCESS;
}

static int cert_cb(SSL *ssl, void *arg) {
  (void)ssl;
  struct side *sd = arg;
  return sd->cert_calls++ == 0 ? -1 : 1;
}

static int verify_cb(int preverify_ok, X509_STORE_CTX *store) {
  (void)preverify_ok;
  SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
  struct side *sd = &sides[SSL_is_server(ssl) ? 1 : 0];
  if (sd->verdict < 0) return SSL_set_retry_verify(ssl);
  return sd->verdict;
}

static const char *err_name(int e) {
  switch (e) {
  case SSL_ERROR_NONE: return "NONE";
  case SSL_ERROR_SSL: return "SSL";
  case SSL_ERROR_WANT_READ: return "WANT_READ";
  case SSL_ERROR_WANT_WRITE: return "WANT_WRITE";
  case SSL_ERROR_WANT_X509_LOOKUP: return "WANT_X509_LOOKUP";
  case SSL_ERROR_SYSCALL: return "SYSCALL";
  case SSL_ERROR_ZERO_RETURN: return "ZERO_RETURN";
  case SSL_ERROR_WANT_CONNECT: return "WANT_CONNECT";
  case SSL_ERROR_WANT_ACCEPT: return "WANT_ACCEPT";
  case SSL_ERROR_WANT_ASYNC: return "WANT_ASYNC";
  case SSL_ERROR_WANT_CLIENT_HELLO_CB: return "WANT_CLIENT_HELLO_CB";
  case SSL_ERROR_WANT_RETRY_VERIFY: return "WANT_RETRY_VERIFY";
  default: return "UNKNOWN";
  }
}

static int side_index(const char *s) {
  if (s && strcmp(s, "c") == 0) return 0;
  if (s && strcmp(s, "s") == 0) return 1;
  fprintf(stderr, "bad side: %s\n", s ? s : "(none)");
  exit(2);
}

/* Print an SSL call's result: the return value, SSL_get_error, and the first reason in the error queue. */
static void report(struct side *sd, int ret) {
  int e = SSL_get_error(sd->ssl, ret);
  printf("ret=%d err=%s", ret, err_name(e));
  unsigned long code = ERR_peek_error();
  if (code != 0) {
    const char *reason = ERR_reason_error_string(code);
    printf(" reason=%s", reason ? reason : "?");
  }
  ERR_clear_error();
}

static void start(size_t cap, const char *cert, const char *key) {
  for (int i = 0; i < 2; i++) {
    struct side *sd = &sides[i];
    sd->ctx = SSL_CTX_new(i == 0 ? TLS_client_method() : TLS_server_method());
    if (!sd->ctx) exit(3);
    SSL_CTX_set_min_proto_version(sd->ctx, sd->version ? sd->version : TLS1_2_VERSION);
    if (sd->version) SSL_CTX_set_max_proto_version(sd->ctx, sd->version);
    SSL_CTX_set_options(sd->ctx, sd->options);
    SSL_CTX_set_mode(sd->ctx, sd->modes);

    /* OpenSSL 3 sets SSL_MODE_AUTO_RETRY by default; the oracle keeps the defaults. */
    if (i == 1) {
      if (SSL_CTX_use_certificate_chain_file(sd->ctx, cert) != 1 ||
          SSL_CTX_use_PrivateKey_file(sd->ctx, key, SSL_FILETYPE_PEM) != 1) {
        ERR_print_errors_fp(stderr);
        exit(3);
      }
    } else if (sd->retry_verify) {
      SSL_CTX_set_verify(sd->ctx, SSL_VERIFY_PEER, verify_cb);
    } else {
      SSL_CTX_set_verify(sd->ctx, SSL_VERIFY_NONE, NULL);
    }
    if (sd->hello_cb) SSL_CTX_set_client_hello_cb(sd->ctx, hello_cb, sd);
    if (sd->cert_cb) SSL_CTX_set_cert_cb(sd->ctx, cert_cb, sd);
    sd->ssl = SSL_new(sd->ctx);
    BIO *inner = NULL;
    if (BIO_new_bio_pair(&inner, cap, &sd->net, cap) != 1) exit(3);
    SSL_set_bio(sd->ssl, inner, inner);
    if (i == 0) SSL_set_connect_state(sd->ssl);
    else SSL_set_accept_state(sd->ssl);
  }
}

/* Move up to `limit` bytes from side i's network output to the other side's network input. */
static long move(int i, long limit) {
  BIO *from = sides[i].net, *to = sides[1 - i].net;
  long moved = 0;
  for (;;) {
    long room = (long)BIO_ctrl_get_write_guarantee(to);
    long want = limit - moved;
    if (want > room) want = room;
    if (want > MAX_BUF) want = MAX_BUF;
    if (want <= 0) break;
    int n = BIO_read(from, scratch, (int)want);
    if (n <= 0) break;
    if (BIO_write(to, scratch, n) != n) exit(4);
    moved += n;
  }
  return moved;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: oracle CERT.pem KEY.pem < script\n");
    return 2;
  }
  scratch = malloc(MAX_BUF);
  for (int b = 0; b < 4; b++) {
    bufs[b] = malloc(MAX_BUF);
    /* The same bytes in every buffer: a moving-buffer retry passes equal data from another address. */
    for (int j = 0; j < MAX_BUF; j++) bufs[b][j] = (unsigned char)(j * 7 + 1);
  }
  sides[0].verdict = sides[1].verdict = -1;
  char line[8192];
  int lineno = 0, started = 0;
  while (fgets(line, sizeof line, stdin)) {
    lineno++;
    line[strcspn(line, "\r\n")] = 0;
    if (line[0] == 0 || line[0] == '#') continue;
    char copy[8192];
    strcpy(copy, line);
    char *cmd = strtok(copy, " ");
    char *a1 = strtok(NULL, " ");
    char *a2 = strtok(NULL, " ");
    char *a3 = strtok(NULL, " ");
    printf("%d: %s -> ", lineno, line);
    if (strcmp(cmd, "option") == 0) {
      struct side *sd = &sides[side_index(a1)];
      if (started || !a2) { fprintf(stderr, "option after start\n"); return 2; }
      if (strcmp(a2, "partial") == 0) sd->modes |= SSL_MODE_ENABLE_PARTIAL_WRITE;
      else if (strcmp(a2, "moving") == 0) sd->modes |= SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
      else if (strcmp(a2, "ignore_eof") == 0) sd->options |= SSL_OP_IGNORE_UNEXPECTED_EOF;
      else if (strcmp(a2, "no_tickets") == 0) sd->options |= SSL_OP_NO_TICKET;
      else if (strcmp(a2, "tls12") == 0) sd->version = TLS1_2_VERSION;
      else if (strcmp(a2, "tls13") == 0) sd->version = TLS1_3_VERSION;
      else if (strcmp(a2, "hello_cb") == 0) sd->hello_cb = 1;
      else if (strcmp(a2, "cert_cb") == 0) sd->cert_cb = 1;
      else if (strcmp(a2, "retry_verify") == 0) sd->retry_verify = 1;
      else { fprintf(stderr, "unknown option %s\n", a2); return 2; }
      printf("ok\n");
      continue;
    }
    if (strcmp(cmd, "start") == 0) {
      start(a1 ? (size_t)atol(a1) : 17 * 1024, argv[1], argv[2]);
      started = 1;
      printf("ok\n");
      continue;
    }
    if (!started) { fprintf(stderr, "line %d: start first\n", lineno); return 2; }
    struct side *sd = &sides[side_index(a1)];
    if (strcmp(cmd, "hs") == 0) {
      report(sd, SSL_do_handshake(sd->ssl));
    } else if (strcmp(cmd, "read") == 0 || strcmp(cmd, "peek") == 0) {
      long n = a2 ? atol(a2) : 16384;
      if (n > MAX_BUF) n = MAX_BUF;
      int ret = cmd[0] == 'r' ? SSL_read(sd->ssl, scratch, (int)n) : SSL_peek(sd->ssl, scratch, (int)n);
      report(sd, ret);
    } else if (strcmp(cmd, "write") == 0) {
      long n = a2 ? atol(a2) : 0;
      int b = a3 ? atoi(a3) : 0;
      if (n > MAX_BUF || b < 0 || b > 3) return 2;
      report(sd, SSL_write(sd->ssl, bufs[b], (int)n));
    } else if (strcmp(cmd, "shutdown") == 0) {
      report(sd, SSL_shutdown(sd->ssl));
    } else if (strcmp(cmd, "pending") == 0) {
      printf("pending=%d has=%d", SSL_pending(sd->ssl), SSL_has_pending(sd->ssl));
    } else if (strcmp(cmd, "move") == 0) {
      printf("moved=%ld", move(side_index(a1), a2 ? atol(a2) : MAX_BUF));
    } else if (strcmp(cmd, "drop") == 0) {
      long n = 0;
      int got;
      while ((got = BIO_read(sd->net, scratch, MAX_BUF)) > 0) n += got;
      printf("moved=%ld", n);
    } else if (strcmp(cmd, "inject") == 0) {
      size_t len = a2 ? strlen(a2) / 2 : 0;
      for (size_t j = 0; j < len; j++) {
        int hi = hexval(a2[2 * j]), lo = hexval(a2[2 * j + 1]);
        if (hi < 0 || lo < 0) return 2;
        scratch[j] = (unsigned char)(hi * 16 + lo);
      }
      printf("moved=%d", len ? BIO_write(sd->net, scratch, (int)len) : 0);
    } else if (strcmp(cmd, "verdict") == 0) {
      sd->verdict = a2 ? atoi(a2) : 0;
      printf("ok");
    } else if (strcmp(cmd, "eof") == 0) {
      /* Nothing more goes toward this side: its reads see end of stream once the pair is drained. */
      BIO_shutdown_wr(sd->net);
      printf("ok");
    } else {
      fprintf(stderr, "line %d: unknown command %s\n", lineno, cmd);
      return 2;
    }
    printf("\n");
    fflush(stdout);
  }
  return 0;
}
