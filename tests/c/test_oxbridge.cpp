// The C++ consumer: the header included twice (its guard must hold), used through a small
// RAII wrapper the way a C++ program would own an oxbridge handle.
#include "oxbridge.h"
#include "oxbridge.h"

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "check.h"

namespace {

class Error : public std::runtime_error {
  public:
    Error(oxb_status status, const std::string &message)
        : std::runtime_error(message), status_(status) {}
    oxb_status status() const { return status_; }

  private:
    oxb_status status_;
};

void throw_on_error(oxb_status status) {
    if (status != OXB_OK) throw Error(status, oxb_last_error_message());
}

template <typename T> oxb_view view_of(std::vector<T> &values, oxb_dtype dtype) {
    oxb_view v;
    v.data = values.data();
    v.len = values.size();
    v.stride = 1;
    v.dtype = dtype;
    return v;
}

// Owns one accumulator handle: destroyed exactly once, movable, not copyable.
class Accumulator {
  public:
    Accumulator() { throw_on_error(oxb_accumulator_create(&handle_)); }
    ~Accumulator() {
        if (handle_ != 0) oxb_accumulator_destroy(handle_);
    }
    Accumulator(const Accumulator &) = delete;
    Accumulator &operator=(const Accumulator &) = delete;
    Accumulator(Accumulator &&other) noexcept : handle_(std::exchange(other.handle_, 0)) {}

    void push(std::vector<double> &values) {
        oxb_view v = view_of(values, OXB_DTYPE_F64);
        throw_on_error(oxb_accumulator_push(handle_, &v));
    }
    void merge(const Accumulator &other) {
        throw_on_error(oxb_accumulator_merge(handle_, other.handle_));
    }
    oxb_stats stats() const {
        oxb_stats s;
        throw_on_error(oxb_accumulator_stats(handle_, &s));
        return s;
    }
    oxb_accumulator raw() const { return handle_; }

  private:
    oxb_accumulator handle_ = 0;
};

void test_version() {
    CHECK(std::string(oxb_version()) == OXB_VERSION);
    CHECK(oxb_abi_version() == OXB_ABI_VERSION);
    // In C++ the status is a real enum with a fixed underlying type.
    static_assert(sizeof(oxb_status) == sizeof(uint32_t), "oxb_status is 32 bits");
}

void test_raii_accumulator() {
    std::size_t live_before = oxb_live_handles();
    oxb_accumulator stale = 0;
    {
        Accumulator a;
        Accumulator b;
        std::vector<double> left = {1.0, 2.0, 3.0};
        std::vector<double> right = {4.0, NAN};
        a.push(left);
        b.push(right);
        a.merge(b);
        oxb_stats s = a.stats();
        CHECK(s.count == 4 && s.nan_count == 1 && s.sum == 10.0 && s.mean == 2.5);
        CHECK(s.variance == 1.25 && s.min == 1.0 && s.max == 4.0);
        Accumulator moved(std::move(a));
        CHECK(moved.stats().count == 4);
        stale = moved.raw();
        CHECK(oxb_live_handles() == live_before + 2);
    }
    CHECK(oxb_live_handles() == live_before);

    // A stale handle raises through the wrapper with the library's status and message.
    bool threw = false;
    try {
        throw_on_error(oxb_accumulator_reset(stale));
    } catch (const Error &e) {
        threw = e.status() == OXB_INVALID_HANDLE && std::string(e.what()).find("handle") !=
                                                        std::string::npos;
    }
    CHECK(threw);
}

void test_process_and_order() {
    std::vector<float> values = {3.0f, -1.0f, 2.0f};
    oxb_view v = view_of(values, OXB_DTYPE_F32);
    CHECK_OK(oxb_process_array(&v, 2.0, 1.0));
    CHECK(values[0] == 7.0f && values[1] == -1.0f && values[2] == 5.0f);
    CHECK_OK(oxb_sort(&v));
    CHECK(values[0] == -1.0f && values[1] == 5.0f && values[2] == 7.0f);

    std::vector<double> q = {0.5};
    std::vector<double> out(1);
    CHECK_OK(oxb_quantile(&v, q.data(), q.size(), out.data()));
    CHECK(out[0] == 5.0);

    std::vector<uint64_t> counts(2);
    std::vector<double> edges(3);
    CHECK_OK(oxb_histogram(&v, counts.size(), nullptr, counts.data(), edges.data()));
    CHECK(counts[0] == 1 && counts[1] == 2 && edges[0] == -1.0 && edges[2] == 7.0);

    std::vector<double> seed = {1.5, -2.0};
    CHECK(process_array(seed.data(), static_cast<int>(seed.size())) == 0);
    CHECK(seed[0] == 3.0 && seed[1] == -4.0);
}

}  // namespace

int main() {
    test_version();
    test_raii_accumulator();
    test_process_and_order();
    return check_report("test_oxbridge (C++)");
}
