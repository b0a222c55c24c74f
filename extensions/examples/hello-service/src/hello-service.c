/* hello-service: logs a heartbeat line every --interval seconds until SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

int main(int argc, char **argv) {
  unsigned interval = 30;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--version") == 0) {
      printf("hello-service %s\n", VERSION);
      return 0;
    }
    if (strncmp(argv[i], "--interval=", 11) == 0) {
      interval = (unsigned)strtoul(argv[i] + 11, NULL, 10);
      if (interval == 0) interval = 1;
    }
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("hello-service %s started, heartbeat every %us\n", VERSION, interval);
  for (unsigned long beat = 1; !stopping; beat++) {
    printf("heartbeat %lu\n", beat);
    for (unsigned s = 0; s < interval && !stopping; s++) sleep(1);
  }
  printf("hello-service stopping\n");
  return 0;
}
