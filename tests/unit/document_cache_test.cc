#include "model/document_cache.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace attnr {
namespace {

struct Sized {
  size_t size;
  size_t bytes() const { return size; }
};

std::shared_ptr<const Sized> Of(size_t size) {
  return std::make_shared<const Sized>(Sized{size});
}

TEST(DocumentCacheTest, EvictsTheLeastRecentlyUsedToStayWithinBytes) {
  DocumentCache<Sized> cache(100);
  cache.Put("a", Of(40));
  cache.Put("b", Of(40));
  EXPECT_EQ(cache.bytes(), 80u);
  ASSERT_NE(cache.Get("a"), nullptr);  // Now "b" is the least recent.
  cache.Put("c", Of(40));
  EXPECT_EQ(cache.Get("b"), nullptr);
  EXPECT_NE(cache.Get("a"), nullptr);
  EXPECT_NE(cache.Get("c"), nullptr);
  EXPECT_EQ(cache.bytes(), 80u);
  EXPECT_EQ(cache.entries(), 2u);
}

TEST(DocumentCacheTest, ReplacingAKeyRecountsItsBytes) {
  DocumentCache<Sized> cache(100);
  cache.Put("a", Of(30));
  cache.Put("a", Of(70));
  EXPECT_EQ(cache.bytes(), 70u);
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.Get("a")->size, 70u);
}

TEST(DocumentCacheTest, AnEntryLargerThanTheBudgetIsNotKept) {
  DocumentCache<Sized> cache(100);
  cache.Put("a", Of(50));
  cache.Put("huge", Of(101));
  EXPECT_EQ(cache.Get("huge"), nullptr);
  EXPECT_NE(cache.Get("a"), nullptr);  // Nothing evicted for it.
  EXPECT_EQ(cache.bytes(), 50u);
}

}  // namespace
}  // namespace attnr
