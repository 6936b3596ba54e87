/* turnprobe.c — a test and benchmark tool, preloaded into the gateway (LD_PRELOAD), never part
 * of the product. It measures every turn of the gateway's event loop: the time from one
 * epoll_wait returning to the next call, which is the work the loop did in one piece. Figures
 * in wall time and in the loop thread's own CPU time (clock_gettime THREAD_CPUTIME): the CPU
 * figure is what the code holds, whatever else the machine runs, so a test can assert on it
 * (test_loop_bound.py) where a wall-clock bound would be flaky.
 *
 * At exit it writes one JSON object to $KC_TURNPROBE_OUT:
 *   {"turns":N,"max_wall_us":..,"max_cpu_us":..,"over_bound_wall":..,"over_bound_cpu":..,
 *    "bound_us":5000,"worst_cpu_us":[..10 largest..]}
 * Only the first thread that waits is measured (the loop; the gateway has no other). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define BOUND_US 5000
#define WORST 10

typedef int (*epoll_wait_fn)(int, struct epoll_event *, int, int);

static epoll_wait_fn real_epoll_wait;
static atomic_int loop_tid;
static long long ret_wall, ret_cpu; /* when the last wait returned; 0 before the first */
static long long turns, max_wall, max_cpu, over_wall, over_cpu, worst[WORST];

static long long usec(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void keep_worst(long long cpu)
{
    for (int i = 0; i < WORST; i++)
        if (cpu > worst[i]) {
            for (int j = WORST - 1; j > i; j--)
                worst[j] = worst[j - 1];
            worst[i] = cpu;
            return;
        }
}

static void report(void)
{
    const char *path = getenv("KC_TURNPROBE_OUT");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (!f)
        return;
    fprintf(f,
            "{\"turns\":%lld,\"max_wall_us\":%lld,\"max_cpu_us\":%lld,\"over_bound_wall\":%lld,"
            "\"over_bound_cpu\":%lld,\"bound_us\":%d,\"worst_cpu_us\":[",
            turns, max_wall, max_cpu, over_wall, over_cpu, BOUND_US);
    for (int i = 0; i < WORST; i++)
        fprintf(f, "%s%lld", i ? "," : "", worst[i]);
    fprintf(f, "]}\n");
    fclose(f);
}

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
    if (!real_epoll_wait) {
        /* POSIX dlsym returns functions as void *; copying the bits is the portable cast. */
        void *sym = dlsym(RTLD_NEXT, "epoll_wait");
        memcpy(&real_epoll_wait, &sym, sizeof real_epoll_wait);
        if (!real_epoll_wait)
            abort();
    }
    int expected = 0, me = (int)gettid();
    if (!atomic_compare_exchange_strong(&loop_tid, &expected, me) && expected != me)
        return real_epoll_wait(epfd, events, maxevents, timeout);
    if (expected == 0)
        atexit(report);
    if (ret_wall) {
        long long wall = usec(CLOCK_MONOTONIC) - ret_wall;
        long long cpu = usec(CLOCK_THREAD_CPUTIME_ID) - ret_cpu;
        turns++;
        if (wall > max_wall)
            max_wall = wall;
        if (cpu > max_cpu)
            max_cpu = cpu;
        over_wall += wall > BOUND_US;
        over_cpu += cpu > BOUND_US;
        keep_worst(cpu);
    }
    int n = real_epoll_wait(epfd, events, maxevents, timeout);
    ret_wall = usec(CLOCK_MONOTONIC);
    ret_cpu = usec(CLOCK_THREAD_CPUTIME_ID);
    return n;
}
