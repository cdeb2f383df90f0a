/* hello.c - the floor of the start-up bench (bench/startup.bench.sh): the
 * least a C program can cost, built with `${CC:-cc} -static -O2` so it maps
 * no shared library and runs no dynamic loader. Prints one line, as an
 * action prints its one JSON document. */
#include <stdio.h>

int main(void)
{
    return puts("hello") < 0;
}
