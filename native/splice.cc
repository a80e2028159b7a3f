// rcp_splice: moves `length` bytes from one socket to another inside the kernel
// (socket -> pipe -> socket with splice(2)), driven by libuv on Node's main thread.
//
//   start(inFd, outFd, length, idleTimeoutMs, callback) -> { cancel() }
//   callback(err | null, bytesMoved) is called exactly once, after the watchers are
//   stopped and every descriptor the transfer opened (two dups, one pipe) is closed.
//
// The fds are dup()ed so that JS closing a socket mid-transfer never makes us touch
// a reused fd number. Only one watcher is active at a time: while the pipe holds
// bytes we wait for the output to become writable, otherwise for the input to
// become readable (a pipe can be "full" below its byte capacity, so waiting on the
// input while the pipe holds bytes could spin).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>

namespace {

constexpr int kPipeSize = 1 << 20;           // asked for; the kernel may grant less
constexpr uint64_t kBudget = 16u << 20;      // bytes per callback before yielding to the loop
constexpr int kPrematureEof = -1;            // pseudo errno: input ended before `length`
constexpr int kCancelled = ECANCELED;

struct Transfer;
struct Token {  // what the JS handle object wraps; outlives the transfer
  Transfer* transfer;
};

struct Transfer {
  napi_env env;
  napi_ref callback;
  napi_ref handle;
  napi_async_context context;
  Token* token;
  int in = -1, out = -1, pipeRead = -1, pipeWrite = -1;
  uint64_t length, remaining, inPipe = 0, moved = 0, pipeCap = 65536;
  uint64_t idleMs, lastProgress = 0;
  uv_poll_t inPoll, outPoll;
  uv_timer_t timer;
  int open = 0;        // libuv handles not yet closed
  bool inEof = false, done = false;
  int error = 0;       // errno, kPrematureEof or 0
};

void Fail(Transfer* t, int error);

void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

void SetWatch(uv_poll_t* poll, bool on, int events, uv_poll_cb cb) {
  if (on) uv_poll_start(poll, events, cb);
  else if (uv_is_active(reinterpret_cast<uv_handle_t*>(poll))) uv_poll_stop(poll);
}

void OnPoll(uv_poll_t* poll, int status, int events);

void Pump(Transfer* t) {
  uint64_t budget = kBudget;
  for (;;) {
    bool progressed = false;
    if (t->remaining > 0 && !t->inEof) {
      ssize_t n = splice(t->in, nullptr, t->pipeWrite, nullptr, std::min(t->remaining, t->pipeCap),
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE);
      if (n > 0) {
        t->remaining -= n;
        t->inPipe += n;
        progressed = true;
      } else if (n == 0) {
        t->inEof = true;
      } else if (errno != EAGAIN && errno != EINTR) {
        return Fail(t, errno);
      }
    }
    if (t->inPipe > 0) {
      unsigned flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | (t->remaining > 0 ? SPLICE_F_MORE : 0);
      ssize_t n = splice(t->pipeRead, nullptr, t->out, nullptr, t->inPipe, flags);
      if (n > 0) {
        t->inPipe -= n;
        t->moved += n;
        budget = n >= static_cast<ssize_t>(budget) ? 0 : budget - n;
        progressed = true;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return Fail(t, errno);
      }
    }
    if (progressed) t->lastProgress = uv_now(uv_handle_get_loop(reinterpret_cast<uv_handle_t*>(&t->timer)));
    if (t->moved == t->length) return Fail(t, 0);
    if (t->inEof && t->inPipe == 0) return Fail(t, kPrematureEof);
    if (!progressed || budget == 0) break;
  }
  bool wantOut = t->inPipe > 0;
  SetWatch(&t->outPoll, wantOut, UV_WRITABLE, OnPoll);
  SetWatch(&t->inPoll, !wantOut, UV_READABLE, OnPoll);
}

void OnPoll(uv_poll_t* poll, int status, int /*events*/) {
  Transfer* t = static_cast<Transfer*>(poll->data);
  if (t->done) return;
  if (status < 0) {  // libuv reports POLLERR as UV_EBADF: fetch the socket's own error
    int fd = poll == &t->inPoll ? t->in : t->out, err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) return Fail(t, err);
  }
  Pump(t);
}

void OnTimer(uv_timer_t* timer) {
  Transfer* t = static_cast<Transfer*>(timer->data);
  uint64_t idle = uv_now(uv_handle_get_loop(reinterpret_cast<uv_handle_t*>(timer))) - t->lastProgress;
  if (idle >= t->idleMs) return Fail(t, ETIMEDOUT);
  uv_timer_start(timer, OnTimer, t->idleMs - idle, 0);
}

napi_value MakeError(napi_env env, int error) {
  const char* code = error == kPrematureEof ? "ERR_PREMATURE_EOF" : uv_err_name(-error);
  const char* text = error == kPrematureEof ? "input ended before the announced length" : uv_strerror(-error);
  napi_value codeValue, message, err;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &codeValue);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, codeValue, message, &err);
  return err;
}

// Runs once all three libuv handles are closed: close the fds, then call back.
void OnClosed(uv_handle_t* handle) {
  Transfer* t = static_cast<Transfer*>(handle->data);
  if (--t->open > 0) return;
  CloseFd(&t->in);
  CloseFd(&t->out);
  CloseFd(&t->pipeRead);
  CloseFd(&t->pipeWrite);
  napi_env env = t->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[2], callback, recv, result;
  if (t->error == 0) napi_get_null(env, &argv[0]);
  else argv[0] = MakeError(env, t->error);
  napi_create_double(env, static_cast<double>(t->moved), &argv[1]);
  if (t->error != 0) napi_set_named_property(env, argv[0], "bytesMoved", argv[1]);
  napi_get_reference_value(env, t->callback, &callback);
  napi_get_global(env, &recv);
  t->token->transfer = nullptr;
  napi_delete_reference(env, t->callback);
  napi_delete_reference(env, t->handle);
  napi_async_context context = t->context;
  delete t;
  if (napi_make_callback(env, context, recv, callback, 2, argv, &result) == napi_pending_exception) {
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
  napi_async_destroy(env, context);
  napi_close_handle_scope(env, scope);
}

// Ends the transfer (error 0 = success): stop everything; OnClosed calls back.
void Fail(Transfer* t, int error) {
  if (t->done) return;
  t->done = true;
  t->error = error;
  uv_close(reinterpret_cast<uv_handle_t*>(&t->inPoll), OnClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&t->outPoll), OnClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&t->timer), OnClosed);
}

napi_value Throw(napi_env env, int error) {
  napi_throw(env, MakeError(env, error));
  return nullptr;
}

napi_value Cancel(napi_env env, napi_callback_info info) {
  napi_value self;
  void* data = nullptr;
  napi_get_cb_info(env, info, nullptr, nullptr, &self, nullptr);
  if (napi_unwrap(env, self, &data) == napi_ok && data) {
    Token* token = static_cast<Token*>(data);
    if (token->transfer) Fail(token->transfer, kCancelled);
  }
  return nullptr;
}

void FinalizeToken(napi_env, void* data, void*) { delete static_cast<Token*>(data); }

napi_value Start(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t inFd, outFd;
  int64_t length, idleMs;
  napi_valuetype cbType = napi_undefined;
  if (argc == 5) napi_typeof(env, argv[4], &cbType);
  if (argc < 5 || napi_get_value_int32(env, argv[0], &inFd) != napi_ok ||
      napi_get_value_int32(env, argv[1], &outFd) != napi_ok ||
      napi_get_value_int64(env, argv[2], &length) != napi_ok ||
      napi_get_value_int64(env, argv[3], &idleMs) != napi_ok || cbType != napi_function || length < 0 ||
      idleMs < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "start(inFd, outFd, length >= 0, idleTimeoutMs >= 0, callback)");
    return nullptr;
  }
  int in = fcntl(inFd, F_DUPFD_CLOEXEC, 0);
  if (in < 0) return Throw(env, errno);
  int out = fcntl(outFd, F_DUPFD_CLOEXEC, 0);
  if (out < 0) {
    int err = errno;
    close(in);
    return Throw(env, err);
  }
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    int err = errno;
    close(in);
    close(out);
    return Throw(env, err);
  }
  Transfer* t = new Transfer();
  t->env = env;
  t->in = in;
  t->out = out;
  t->pipeRead = fds[0];
  t->pipeWrite = fds[1];
  t->length = t->remaining = static_cast<uint64_t>(length);
  t->idleMs = static_cast<uint64_t>(idleMs);
  int size = fcntl(fds[1], F_SETPIPE_SZ, kPipeSize);  // over /proc/sys/fs/pipe-max-size: keep default
  if (size < 0) size = fcntl(fds[1], F_GETPIPE_SZ);
  if (size > 0) t->pipeCap = static_cast<uint64_t>(size);

  uv_loop_t* loop;
  napi_get_uv_event_loop(env, &loop);
  // uv_poll_init cannot fail here: the dups are sockets, unknown to the loop.
  uv_poll_init(loop, &t->inPoll, in);
  uv_poll_init(loop, &t->outPoll, out);
  uv_timer_init(loop, &t->timer);
  t->inPoll.data = t->outPoll.data = t->timer.data = t;
  t->open = 3;
  t->lastProgress = uv_now(loop);

  napi_value handle, cancel, resource;
  napi_create_object(env, &handle);
  napi_create_function(env, "cancel", NAPI_AUTO_LENGTH, Cancel, nullptr, &cancel);
  napi_set_named_property(env, handle, "cancel", cancel);
  t->token = new Token{t};
  napi_wrap(env, handle, t->token, FinalizeToken, nullptr, nullptr);
  napi_create_reference(env, handle, 1, &t->handle);
  napi_create_reference(env, argv[4], 1, &t->callback);
  napi_create_string_utf8(env, "rcp_splice", NAPI_AUTO_LENGTH, &resource);
  napi_async_init(env, nullptr, resource, &t->context);

  if (t->idleMs > 0) uv_timer_start(&t->timer, OnTimer, t->idleMs, 0);
  if (t->length == 0) Fail(t, 0);
  else uv_poll_start(&t->inPoll, UV_READABLE, OnPoll);  // first pump from the loop, never re-entrant
  return handle;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value start;
  napi_create_function(env, "start", NAPI_AUTO_LENGTH, Start, nullptr, &start);
  napi_set_named_property(env, exports, "start", start);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
