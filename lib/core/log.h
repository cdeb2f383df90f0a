/* log.h - logging to stderr only; stdout is reserved for the one JSON result.
 *
 * The level is "info" unless ST2_ACTION_DEBUG=True or --debug asks for debug,
 * or AUTOSCALE_LOG_LEVEL names one of error|warn|info|debug. Every line is
 * scrubbed of registered secrets before it is written. */
#ifndef AS_LOG_H
#define AS_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_init(const char *progname);     /* reads the environment */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
