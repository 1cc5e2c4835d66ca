/*
 * fpga-cloud's Verilator glue for the LiteX simulator, in place of LiteX's veril.cpp
 * (BSD-2-Clause, Copyright (C) 2017 LambdaConcept): the same entry points, and waveform
 * recordings that the SoC switches on and off at run time.
 *
 *  - The model is built with FST tracing compiled in, but nothing is written until the SoC's
 *    trace control bit (LiteX's SimTrace CSR, the `sim_trace` pad) rises. While it is low, the
 *    cost per simulation step is one comparison (LiteX's glue also flushed its trace file on
 *    every step, which this one does not).
 *  - Each rising edge of the bit opens a new recording, `<dir>/<n>.fst` (n = 1, 2, ... per
 *    simulator process); its falling edge closes it. Only the user's slot is recorded: the
 *    wrapper `fpga_cloud_user` (the Wishbone bus between the bridge and the design) and the
 *    design below it, nothing of the rest of the SoC.
 *  - Caps: a recording stops by itself after `+trace_max_cycles` clock cycles, or once its file
 *    has passed `+trace_max_bytes` (checked every TRACE_CHECK_CYCLES cycles, when the buffered
 *    changes are flushed). It then waits for the bit to fall before the next one may start.
 *  - When a recording is closed, `<n>.json` says what it holds: the first and last simulated
 *    time (ps), the absolute clock cycle it started at, the cycles recorded, its size and why it
 *    stopped ("stopped", "cycle_cap", "byte_cap", "finished"). It is written under a temporary
 *    name and renamed, so a reader never sees half of it.
 *  - The FST writer keeps temporary files through tmpfile(), which uses /tmp: read-only in the
 *    simulator's sandbox. tmpfile() is defined here so that they go to the recordings'
 *    directory instead (unlinked at once, as tmpfile's are).
 *
 * Plusargs: +trace_dir=DIR (default "traces"), +trace_max_cycles=N, +trace_max_bytes=N
 * (0 or absent: no cap).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "Vsim.h"
#include "verilated.h"
#if VM_TRACE
#include "verilated_fst_c.h"
#endif

/* The hierarchy recorded: the user's slot as the SoC instantiates it. */
#define TRACE_SCOPE "TOP.sim.fpga_cloud_user"
#define TRACE_LEVELS 99
/* Cycles between two checks of a recording's size (each flushes the buffered changes). */
#define TRACE_CHECK_CYCLES 16384

uint64_t main_time = 0;
static Vsim *g_sim = nullptr;
static std::string g_dir = "traces";

extern "C" FILE *tmpfile(void)
{
  std::string pattern = g_dir + "/.fst-tmp-XXXXXX";
  int fd = mkstemp(&pattern[0]);

  if (fd < 0)
    return nullptr;
  unlink(pattern.c_str());
  FILE *f = fdopen(fd, "w+b");
  if (!f)
    close(fd);
  return f;
}

static uint64_t plusarg_u64(const char *name)
{
  std::string prefix = std::string(name) + "=";
  const char *match = Verilated::commandArgsPlusMatch(prefix.c_str());

  if (!match || !*match)
    return 0;
  return strtoull(match + 1 + prefix.size(), nullptr, 10);
}

static std::string plusarg_str(const char *name, const char *fallback)
{
  std::string prefix = std::string(name) + "=";
  const char *match = Verilated::commandArgsPlusMatch(prefix.c_str());

  if (!match || !*match)
    return fallback;
  return std::string(match + 1 + prefix.size());
}

extern "C" void litex_sim_eval(void *vsim, uint64_t time_ps)
{
  Vsim *sim = (Vsim *)vsim;
  sim->eval();
  main_time = time_ps;
}

extern "C" void litex_sim_init_cmdargs(int argc, char *argv[])
{
  Verilated::commandArgs(argc, argv);
}

#if VM_TRACE

enum { IDLE, RECORDING, CAPPED };

static VerilatedFstC *tfp = nullptr;
static int state = IDLE;
static uint64_t max_cycles, max_bytes;
static uint64_t number;        /* recordings opened so far */
static uint64_t cycle;         /* rising edges of sys_clk since the simulation started */
static int last_clk;
static uint64_t first_ps, last_ps, first_cycle, cycles, next_check;
static std::string path;

static uint64_t file_bytes(void)
{
  struct stat st;

  return stat(path.c_str(), &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void write_summary(const char *reason)
{
  std::string base = g_dir + "/" + std::to_string(number);
  std::string tmp = base + ".json.tmp";
  FILE *f = fopen(tmp.c_str(), "w");

  if (!f) {
    fprintf(stderr, "[tracer] cannot write %s: %s\n", tmp.c_str(), strerror(errno));
    return;
  }
  fprintf(f,
          "{\"number\": %llu, \"file\": \"%llu.fst\", \"first_ps\": %llu, \"last_ps\": %llu, "
          "\"first_cycle\": %llu, \"cycles\": %llu, \"bytes\": %llu, \"reason\": \"%s\"}\n",
          (unsigned long long)number, (unsigned long long)number,
          (unsigned long long)first_ps, (unsigned long long)last_ps,
          (unsigned long long)first_cycle, (unsigned long long)cycles,
          (unsigned long long)file_bytes(), reason);
  fclose(f);
  rename(tmp.c_str(), (base + ".json").c_str());
}

static void start_recording(void)
{
  number++;
  path = g_dir + "/" + std::to_string(number) + ".fst";
  tfp->open(path.c_str());
  if (!tfp->isOpen()) {
    fprintf(stderr, "[tracer] cannot open %s\n", path.c_str());
    state = CAPPED;
    return;
  }
  state = RECORDING;
  first_ps = last_ps = main_time;
  first_cycle = cycle;
  cycles = 0;
  next_check = TRACE_CHECK_CYCLES;
  printf("[tracer] recording %llu started at cycle %llu\n", (unsigned long long)number,
         (unsigned long long)cycle);
  fflush(stdout);
}

static void stop_recording(const char *reason)
{
  tfp->close();
  write_summary(reason);
  printf("[tracer] recording %llu stopped (%s) after %llu cycles\n", (unsigned long long)number,
         reason, (unsigned long long)cycles);
  fflush(stdout);
  state = strcmp(reason, "stopped") == 0 ? IDLE : CAPPED;
}

extern "C" void litex_sim_init_tracer(void *vsim, long start, long end)
{
  (void)start;
  (void)end;
  g_sim = (Vsim *)vsim;
  g_dir = plusarg_str("trace_dir", "traces");
  max_cycles = plusarg_u64("trace_max_cycles");
  max_bytes = plusarg_u64("trace_max_bytes");
  Verilated::traceEverOn(true);
  tfp = new VerilatedFstC;
  g_sim->trace(tfp, TRACE_LEVELS);
  tfp->dumpvars(TRACE_LEVELS, TRACE_SCOPE);
  tfp->set_time_unit("1ps");
  tfp->set_time_resolution("1ps");
}

extern "C" void litex_sim_tracer_dump()
{
  int on = g_sim->sim_trace != 0;
  int clk = g_sim->sys_clk != 0;
  int rising = clk && !last_clk;

  last_clk = clk;
  cycle += rising;
  switch (state) {
  case IDLE:
    if (!on)
      return;
    start_recording();
    if (state != RECORDING)
      return;
    break;
  case CAPPED:
    if (!on)
      state = IDLE;
    return;
  case RECORDING:
    if (!on) {
      stop_recording("stopped");
      return;
    }
    break;
  }
  tfp->dump((uint64_t)main_time);
  last_ps = main_time;
  if (!rising)
    return;
  cycles++;
  if (max_cycles && cycles >= max_cycles) {
    stop_recording("cycle_cap");
    return;
  }
  if (max_bytes && cycles >= next_check) {
    next_check = cycles + TRACE_CHECK_CYCLES;
    tfp->flush();
    if (file_bytes() >= max_bytes)
      stop_recording("byte_cap");
  }
}

extern "C" int litex_sim_got_finish()
{
  int finished = Verilated::gotFinish();

  if (finished && state == RECORDING)
    stop_recording("finished");
  return finished;
}

#else /* built without tracing: the same entry points, recording nothing */

extern "C" void litex_sim_init_tracer(void *vsim, long start, long end)
{
  (void)start;
  (void)end;
  g_sim = (Vsim *)vsim;
}

extern "C" void litex_sim_tracer_dump() {}

extern "C" int litex_sim_got_finish() { return Verilated::gotFinish(); }

#endif

#if VM_COVERAGE
extern "C" void litex_sim_coverage_dump()
{
  VerilatedCov::write("sim.cov");
}
#endif

double sc_time_stamp()
{
  return main_time;
}
