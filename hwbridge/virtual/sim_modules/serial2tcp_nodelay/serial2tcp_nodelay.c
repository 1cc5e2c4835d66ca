/*
 * serial2tcp_nodelay: LiteX simulator module bridging the SoC's serial byte stream to one TCP
 * client. Hardened copy of LiteX's serial2tcp (BSD-2-Clause, Copyright (C) 2017 LambdaConcept):
 *
 *  - listens on 127.0.0.1 only, sets TCP_NODELAY on the client (UARTBone drops a frame that
 *    arrives in pieces more than 100 ms of simulated time apart; Nagle + delayed ACK did that);
 *  - bounded receive ring with back-pressure: when it is full the socket is not read any more,
 *    so TCP holds the client instead of bytes being overwritten;
 *  - replies are buffered and sent in one send() when the SoC's stream goes idle, with
 *    MSG_NOSIGNAL: a client that vanishes mid-reply is dropped, the simulation keeps running;
 *  - a new client replaces the old one. Bytes the SoC could still be chewing on from a previous
 *    client (a half frame, a reply in flight) are isolated by a quiet period longer than
 *    UARTBone's frame timeout ("quiet_cycles") before the new client's first byte is delivered,
 *    and replies produced in between are discarded;
 *  - pacing ("pace_hz" > 0): while no byte is in flight the simulation is held to that many
 *    clock cycles per second of real time, by sleeping in poll() on the sockets, so an idle
 *    board costs next to no CPU; a byte arriving wakes it at once, and while bytes are in flight
 *    (and for "busy_cycles" after) it runs as fast as it can. Time run ahead in a burst is paid
 *    back by sleeping once the link is idle, up to MAX_LEAD_NS of it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <json-c/json.h>

#include "error.h"
#include "modules.h"

#define MOD_NAME "serial2tcp_nodelay"
#define RX_RING_SIZE 65536
#define TX_BUF_SIZE 65536
/* Resume reading the socket once this much ring space is free again. */
#define RX_RESUME_FREE 4096
/* Idle clock cycles after which buffered reply bytes are sent: long enough to gather a whole
 * burst reply (the bridge pauses a few cycles per word), short in real time (~2 us). */
#define TX_FLUSH_IDLE_CYCLES 16
/* Cycles between send() retries while the client's receive window is full. */
#define TX_RETRY_CYCLES 1024
/* Cycles that must pass after the last byte of a previous client before bytes of a new one
 * are delivered, when sim_config.js does not say ("quiet_cycles"): longer than UARTBone's frame
 * timeout, after which it drops a half-received frame. */
#define DEFAULT_QUIET_CYCLES 110000ULL
/* Pacing: how often (in cycles) the pace is checked, the longest sleep (a new client's
 * connection is noticed within it), the shortest one worth a system call, and how far the
 * simulation may be ahead of or behind real time before the difference is forgotten. */
#define PACE_CHECK_CYCLES 256
#define MAX_SLEEP_MS 50
#define MIN_SLEEP_NS 1000000ULL
#define MAX_LEAD_NS 100000000ULL
#define MAX_LAG_NS 100000000ULL

struct session_s {
  char *tx;
  char *tx_valid;
  char *tx_ready;
  char *rx;
  char *rx_valid;
  char *rx_ready;
  char *sys_clk;
  clk_edge_state_t edge;
  struct evconnlistener *listener;
  struct event *ev;
  evutil_socket_t fd;
  int reading;
  unsigned char rx_ring[RX_RING_SIZE];
  size_t rx_start;
  size_t rx_len;
  size_t old_remaining; /* bytes at the ring's head that a previous client sent */
  int guard;            /* the quiet period has to be checked before new bytes go out */
  int discard_tx;       /* replies still belong to a previous client */
  unsigned char tx_buf[TX_BUF_SIZE];
  size_t tx_len;
  uint64_t tx_idle;
  uint64_t tx_retry_at;
  uint64_t cycles;
  uint64_t quiet_cycles;
  uint64_t last_rx_cycle;
  int delivered_any;
  uint64_t pace_hz;        /* 0: no pacing */
  uint64_t busy_cycles;    /* cycles after the last byte during which it runs flat out */
  uint64_t last_activity;  /* cycle of the last byte in or out */
  uint64_t pace_wall0_ns;  /* real time and cycle count the pace is measured from */
  uint64_t pace_cycles0;
  int pace_started;
};

static struct event_base *base;

static uint64_t monotonic_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int get_arg(char *args, const char *arg, char **val)
{
  json_object *jsobj;
  json_object *obj = NULL;

  *val = NULL;
  if (!args) {
    eprintf("missing args in sim_config.js for " MOD_NAME ", need \"%s\"\n", arg);
    return RC_JSERROR;
  }
  jsobj = json_tokener_parse(args);
  if (!jsobj || !json_object_is_type(jsobj, json_type_object)) {
    eprintf("args must be a JSON object: %s\n", args);
    if (jsobj)
      json_object_put(jsobj);
    return RC_JSERROR;
  }
  if (!json_object_object_get_ex(jsobj, arg, &obj)) {
    eprintf("could not find \"%s\" in %s\n", arg, args);
    json_object_put(jsobj);
    return RC_JSERROR;
  }
  *val = strdup(json_object_get_string(obj));
  json_object_put(jsobj);
  return *val ? RC_OK : RC_NOENMEM;
}

/* A non-negative integer argument, 0 when it is absent or not a number. */
static uint64_t optional_u64(char *args, const char *arg)
{
  json_object *jsobj;
  json_object *obj = NULL;
  uint64_t value = 0;

  if (!args)
    return 0;
  jsobj = json_tokener_parse(args);
  if (!jsobj)
    return 0;
  if (json_object_object_get_ex(jsobj, arg, &obj) && json_object_is_type(obj, json_type_int) &&
      json_object_get_int64(obj) > 0)
    value = (uint64_t)json_object_get_int64(obj);
  json_object_put(jsobj);
  return value;
}

static void pads_get(struct pad_s *pads, const char *name, char **signal)
{
  int i;

  *signal = NULL;
  for (i = 0; pads[i].name; i++) {
    if (!strcmp(pads[i].name, name)) {
      *signal = (char *)pads[i].signal;
      return;
    }
  }
}

static int serial2tcp_start(void *b)
{
  base = (struct event_base *)b;
  /* Belt and braces next to MSG_NOSIGNAL: nothing in the simulator wants SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);
  printf("[" MOD_NAME "] loaded\n");
  return RC_OK;
}

static void drop_client(struct session_s *s, const char *why)
{
  if (s->fd < 0)
    return;
  if (s->ev) {
    event_free(s->ev);
    s->ev = NULL;
  }
  evutil_closesocket(s->fd);
  s->fd = -1;
  s->reading = 0;
  s->tx_len = 0;
  printf("[" MOD_NAME "] client %s\n", why);
  fflush(stdout);
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
  struct session_s *s = (struct session_s *)arg;
  size_t free_len = RX_RING_SIZE - s->rx_len;
  size_t end = (s->rx_start + s->rx_len) % RX_RING_SIZE;
  size_t chunk = RX_RING_SIZE - end;
  ssize_t n;

  if (free_len == 0) {
    /* Ring full: stop reading so TCP flow control holds the client back. */
    event_del(s->ev);
    s->reading = 0;
    return;
  }
  if (chunk > free_len)
    chunk = free_len;
  n = recv(fd, s->rx_ring + end, chunk, 0);
  if (n > 0) {
    s->rx_len += (size_t)n;
    return;
  }
  if (n == 0) {
    /* Bytes already received stay queued: the client did send them. */
    drop_client(s, "closed");
    return;
  }
  if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
    drop_client(s, "failed (read)");
}

static void accept_cb(struct evconnlistener *listener, evutil_socket_t fd,
                      struct sockaddr *address, int socklen, void *ctx)
{
  struct session_s *s = (struct session_s *)ctx;
  int one = 1;

  if (s->fd >= 0) {
    drop_client(s, "replaced");
    /* A replaced client's unsent bytes are abandoned; they could end mid-frame. */
    s->rx_start = 0;
    s->rx_len = 0;
  }
  s->old_remaining = s->rx_len;
  s->guard = s->delivered_any || s->rx_len;
  s->discard_tx = 1;
  s->tx_len = 0;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
    eprintf("setsockopt(TCP_NODELAY) failed: %s\n", strerror(errno));
  evutil_make_socket_nonblocking(fd);
  s->ev = event_new(base, fd, EV_READ | EV_PERSIST, read_cb, s);
  if (!s->ev) {
    eprintf("event_new failed\n");
    evutil_closesocket(fd);
    return;
  }
  s->fd = fd;
  event_add(s->ev, NULL);
  s->reading = 1;
  printf("[" MOD_NAME "] client connected\n");
  fflush(stdout);
}

static void accept_error_cb(struct evconnlistener *listener, void *ctx)
{
  int err = EVUTIL_SOCKET_ERROR();

  /* Unlike the stock module, keep simulating: a failed accept only loses that client. */
  eprintf("accept failed: %s\n", evutil_socket_error_to_string(err));
}

static int serial2tcp_new(void **sess, char *args)
{
  struct session_s *s;
  struct sockaddr_in sin;
  char *cport = NULL;
  char *endp = NULL;
  long port;
  int ret;

  if (!sess)
    return RC_INVARG;
  *sess = NULL;
  ret = get_arg(args, "port", &cport);
  if (ret != RC_OK)
    return ret;
  port = strtol(cport, &endp, 10);
  if (!*cport || *endp || port < 1 || port > 65535) {
    eprintf("invalid port \"%s\"\n", cport);
    free(cport);
    return RC_ERROR;
  }
  free(cport);

  s = (struct session_s *)calloc(1, sizeof(struct session_s));
  if (!s)
    return RC_NOENMEM;
  s->fd = -1;
  s->pace_hz = optional_u64(args, "pace_hz");
  s->busy_cycles = optional_u64(args, "busy_cycles");
  s->quiet_cycles = optional_u64(args, "quiet_cycles");
  if (!s->quiet_cycles)
    s->quiet_cycles = DEFAULT_QUIET_CYCLES;

  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons((uint16_t)port);
  s->listener = evconnlistener_new_bind(base, accept_cb, s,
                                        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
                                        (struct sockaddr *)&sin, sizeof(sin));
  if (!s->listener) {
    /* The caller retries on another port when the simulator exits here (rc 255). */
    eprintf("can't bind 127.0.0.1:%ld: %s\n", port, strerror(errno));
    free(s);
    return RC_ERROR;
  }
  evconnlistener_set_error_cb(s->listener, accept_error_cb);
  printf("[" MOD_NAME "] listening on 127.0.0.1:%ld\n", port);
  fflush(stdout);
  *sess = (void *)s;
  return RC_OK;
}

static int serial2tcp_add_pads(void *sess, struct pad_list_s *plist)
{
  struct session_s *s = (struct session_s *)sess;

  if (!sess || !plist)
    return RC_INVARG;
  if (!strcmp(plist->name, "serial")) {
    pads_get(plist->pads, "sink_data", &s->rx);
    pads_get(plist->pads, "sink_valid", &s->rx_valid);
    pads_get(plist->pads, "sink_ready", &s->rx_ready);
    pads_get(plist->pads, "source_data", &s->tx);
    pads_get(plist->pads, "source_valid", &s->tx_valid);
    pads_get(plist->pads, "source_ready", &s->tx_ready);
  }
  if (!strcmp(plist->name, "sys_clk"))
    pads_get(plist->pads, "sys_clk", &s->sys_clk);
  return RC_OK;
}

static void flush_tx(struct session_s *s)
{
  ssize_t n;

  if (s->fd < 0) {
    s->tx_len = 0;
    return;
  }
  n = send(s->fd, s->tx_buf, s->tx_len, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n > 0) {
    memmove(s->tx_buf, s->tx_buf + n, s->tx_len - (size_t)n);
    s->tx_len -= (size_t)n;
  } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    drop_client(s, "failed (write)");
    return;
  }
  if (s->tx_len)
    s->tx_retry_at = s->cycles + TX_RETRY_CYCLES;
}

static void tick_tx(struct session_s *s)
{
  int ready = s->tx_len < TX_BUF_SIZE;

  /* The ready set now is what the SoC samples at the next edge, together with the byte it
   * presents now: take the byte exactly when both are set. */
  *s->tx_ready = ready;
  if (ready && *s->tx_valid) {
    if (s->fd >= 0 && !s->discard_tx)
      s->tx_buf[s->tx_len++] = (unsigned char)*s->tx;
    s->tx_idle = 0;
    s->last_activity = s->cycles;
  } else if (s->tx_idle < TX_FLUSH_IDLE_CYCLES) {
    s->tx_idle++;
  }
  if (s->tx_len && s->cycles >= s->tx_retry_at &&
      (s->tx_idle >= TX_FLUSH_IDLE_CYCLES || s->tx_len == TX_BUF_SIZE))
    flush_tx(s);
}

static void tick_rx(struct session_s *s)
{
  *s->rx_valid = 0;
  if (!s->rx_len)
    return;
  if (!s->old_remaining && s->guard) {
    if (s->cycles < s->last_rx_cycle + s->quiet_cycles)
      return;
    s->guard = 0;
  }
  *s->rx = (char)s->rx_ring[s->rx_start];
  *s->rx_valid = 1;
  if (!*s->rx_ready)
    return;
  s->rx_start = (s->rx_start + 1) % RX_RING_SIZE;
  s->rx_len--;
  s->last_rx_cycle = s->cycles;
  s->last_activity = s->cycles;
  s->delivered_any = 1;
  if (s->old_remaining)
    s->old_remaining--;
  else
    s->discard_tx = 0;
  if (!s->reading && s->ev && RX_RING_SIZE - s->rx_len >= RX_RESUME_FREE) {
    event_add(s->ev, NULL);
    s->reading = 1;
  }
}

/* Hold an idle simulation to pace_hz cycles per second: sleep while it is ahead of real time,
 * waking at once when a client connects or sends. */
static void pace(struct session_s *s)
{
  struct pollfd fds[2];
  uint64_t now, sim_ns, wall_ns;
  int n = 0, ms;

  if (s->rx_len || s->tx_len || s->cycles - s->last_activity < s->busy_cycles) {
    return;
  }
  now = monotonic_ns();
  if (!s->pace_started) {
    s->pace_wall0_ns = now;
    s->pace_cycles0 = s->cycles;
    s->pace_started = 1;
    return;
  }
  sim_ns = (s->cycles - s->pace_cycles0) * 1000000000ULL / s->pace_hz;
  wall_ns = now - s->pace_wall0_ns;
  if (sim_ns > wall_ns + MAX_LEAD_NS) {
    s->pace_wall0_ns = now - (sim_ns - MAX_LEAD_NS);
    wall_ns = sim_ns - MAX_LEAD_NS;
  } else if (wall_ns > sim_ns + MAX_LAG_NS) {
    s->pace_wall0_ns = now - (sim_ns + MAX_LAG_NS);
    wall_ns = sim_ns + MAX_LAG_NS;
  }
  if (sim_ns < wall_ns + MIN_SLEEP_NS)
    return;
  ms = (int)((sim_ns - wall_ns) / 1000000ULL);
  if (ms > MAX_SLEEP_MS)
    ms = MAX_SLEEP_MS;
  if (s->fd >= 0 && s->reading) {
    fds[n].fd = s->fd;
    fds[n].events = POLLIN;
    n++;
  }
  fds[n].fd = evconnlistener_get_fd(s->listener);
  fds[n].events = POLLIN;
  n++;
  if (poll(fds, (nfds_t)n, ms) > 0)
    s->last_activity = s->cycles; /* a byte or a client is waiting: run until it is served */
}

static int serial2tcp_tick(void *sess, uint64_t time_ps)
{
  (void)time_ps; /* the module counts clock cycles */
  struct session_s *s = (struct session_s *)sess;

  if (!s->sys_clk || !s->tx || !s->rx)
    return RC_ERROR;
  if (!clk_pos_edge(&s->edge, *s->sys_clk))
    return RC_OK;
  s->cycles++;
  tick_tx(s);
  tick_rx(s);
  if (s->pace_hz && s->cycles % PACE_CHECK_CYCLES == 0)
    pace(s);
  return RC_OK;
}

static int serial2tcp_close(void *sess)
{
  struct session_s *s = (struct session_s *)sess;

  if (!s)
    return RC_OK;
  drop_client(s, "closed by simulator");
  if (s->listener)
    evconnlistener_free(s->listener);
  free(s);
  return RC_OK;
}

static struct ext_module_s ext_mod = {
  MOD_NAME,
  serial2tcp_start,
  serial2tcp_new,
  serial2tcp_add_pads,
  serial2tcp_close,
  serial2tcp_tick
};

int litex_sim_ext_module_init(int (*register_module)(struct ext_module_s *))
{
  return register_module(&ext_mod);
}
