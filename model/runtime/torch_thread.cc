#include "model/runtime/torch_thread.h"

#include <exception>

namespace attnr::runtime {

struct TorchThread::Job {
  explicit Job(absl::FunctionRef<void()> w) : work(w) {}
  absl::FunctionRef<void()> work;
  std::exception_ptr error;
  bool done = false;
};

TorchThread& TorchThread::Get() {
  // Never destroyed: the thread runs until the process ends.
  static TorchThread* const instance = new TorchThread();
  return *instance;
}

TorchThread::TorchThread() {
  std::thread thread([this] { Loop(); });
  id_ = thread.get_id();
  thread.detach();
}

void TorchThread::Run(absl::FunctionRef<void()> work) {
  if (std::this_thread::get_id() == id_) {
    work();
    return;
  }
  Job job(work);
  {
    absl::MutexLock lock(&mu_);
    queue_.push_back(&job);
    mu_.Await(absl::Condition(&job.done));
  }
  if (job.error) std::rethrow_exception(job.error);
}

void TorchThread::Loop() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    mu_.Await(absl::Condition(
        +[](std::deque<Job*>* queue) { return !queue->empty(); }, &queue_));
    Job* job = queue_.front();
    queue_.pop_front();
    mu_.Unlock();
    try {
      job->work();
    } catch (...) {
      job->error = std::current_exception();
    }
    mu_.Lock();
    job->done = true;
  }
}

}  // namespace attnr::runtime
