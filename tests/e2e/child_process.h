#pragma once

// A child process for end-to-end tests: started with posix_spawn, with pipes on stdin, stdout
// and stderr. A reader thread drains both output pipes, so a chatty child never blocks on a
// full pipe. Header-only, because tests/CMakeLists.txt compiles only the *_test.cc files of a
// test folder.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

extern char** environ;

namespace devauth::testing {

class ChildProcess {
 public:
  // Starts `arguments[0]` (a path) with `arguments` as argv. Throws std::system_error when the
  // process cannot be started.
  explicit ChildProcess(const std::vector<std::string>& arguments);
  // Kills the process with SIGKILL if it is still running, and reaps it.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Writes `text` to the child's stdin, then closes it when `close` is set.
  void writeStdin(const std::string& text, bool close = true);

  // Sends `signal_number` to the child.
  void signal(int signal_number);

  // Waits until the child exits, at most `timeout`. Returns its exit status, or nullopt when it
  // is still running or was killed by a signal.
  std::optional<int> waitForExit(std::chrono::milliseconds timeout);

  // Waits until `predicate(stderr so far)` is true or `timeout` passes. Returns the last result.
  bool waitForStderr(const std::function<bool(const std::string&)>& predicate,
                     std::chrono::milliseconds timeout);

  // Output read so far.
  std::string stdoutText() const;
  std::string stderrText() const;

 private:
  void readOutput(int stdout_fd, int stderr_fd);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_status_ = -1;
  int stdin_fd_ = -1;
  std::thread reader_;

  mutable std::mutex mutex_;
  std::condition_variable output_changed_;
  std::string stdout_;  // guarded by mutex_
  std::string stderr_;  // guarded by mutex_
};

namespace child_process_detail {

struct Pipe {
  int read_end = -1;
  int write_end = -1;
};

inline Pipe makePipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    throw std::system_error(errno, std::generic_category(), "pipe2");
  }
  return {fds[0], fds[1]};
}

}  // namespace child_process_detail

inline ChildProcess::ChildProcess(const std::vector<std::string>& arguments) {
  using child_process_detail::makePipe;
  child_process_detail::Pipe input = makePipe();
  child_process_detail::Pipe output = makePipe();
  child_process_detail::Pipe errors = makePipe();

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears O_CLOEXEC on the target, so only fds 0-2 survive the exec.
  posix_spawn_file_actions_adddup2(&actions, input.read_end, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, output.write_end, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, errors.write_end, STDERR_FILENO);

  std::vector<char*> argv;
  for (const auto& argument : arguments) {
    argv.push_back(const_cast<char*>(argument.c_str()));
  }
  argv.push_back(nullptr);
  const int spawned = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);

  ::close(input.read_end);
  ::close(output.write_end);
  ::close(errors.write_end);
  if (spawned != 0) {
    ::close(input.write_end);
    ::close(output.read_end);
    ::close(errors.read_end);
    throw std::system_error(spawned, std::generic_category(), "posix_spawn " + arguments[0]);
  }
  stdin_fd_ = input.write_end;
  reader_ =
      std::thread([this, out = output.read_end, err = errors.read_end] { readOutput(out, err); });
}

inline ChildProcess::~ChildProcess() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (stdin_fd_ >= 0) {
    ::close(stdin_fd_);
  }
  if (reader_.joinable()) {
    reader_.join();
  }
}

inline void ChildProcess::readOutput(int stdout_fd, int stderr_fd) {
  std::array<pollfd, 2> fds{{{stdout_fd, POLLIN, 0}, {stderr_fd, POLLIN, 0}}};
  std::array<char, 4096> buffer{};
  int open_count = 2;
  while (open_count > 0) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) {
        continue;
      }
      const ssize_t count = ::read(fds[i].fd, buffer.data(), buffer.size());
      if (count <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
        continue;
      }
      std::lock_guard lock(mutex_);
      (i == 0 ? stdout_ : stderr_).append(buffer.data(), static_cast<std::size_t>(count));
      output_changed_.notify_all();
    }
  }
}

inline void ChildProcess::writeStdin(const std::string& text, bool close) {
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t count = ::write(stdin_fd_, text.data() + written, text.size() - written);
    if (count <= 0) {
      break;
    }
    written += static_cast<std::size_t>(count);
  }
  if (close) {
    ::close(stdin_fd_);
    stdin_fd_ = -1;
  }
}

inline void ChildProcess::signal(int signal_number) { ::kill(pid_, signal_number); }

inline std::optional<int> ChildProcess::waitForExit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!reaped_) {
    int status = 0;
    const pid_t result = ::waitpid(pid_, &status, WNOHANG);
    if (result == pid_) {
      reaped_ = true;
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // The output pipes close when the process exits, so the reader finishes promptly.
  if (reader_.joinable()) {
    reader_.join();
  }
  if (exit_status_ < 0) {
    return std::nullopt;
  }
  return exit_status_;
}

inline bool ChildProcess::waitForStderr(const std::function<bool(const std::string&)>& predicate,
                                        std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return output_changed_.wait_for(lock, timeout, [&] { return predicate(stderr_); });
}

inline std::string ChildProcess::stdoutText() const {
  std::lock_guard lock(mutex_);
  return stdout_;
}

inline std::string ChildProcess::stderrText() const {
  std::lock_guard lock(mutex_);
  return stderr_;
}

}  // namespace devauth::testing
