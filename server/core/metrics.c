/* metrics: the single instance. */
#include "core/metrics.h"

struct metrics metrics;
