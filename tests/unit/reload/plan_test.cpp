// The rescan plan: what a rescan of the plugin directory releases, loads and holds, given what
// is loaded and what the directory holds now.

#include "reload/plan.hpp"

#include <gtest/gtest.h>

namespace osbd::reload {
namespace {

using Strings = std::vector<std::string>;

const std::string kA = "/plugins/a.so";
const std::string kB = "/plugins/b.so";
const std::string kC = "/plugins/c.so";

FileId file_id(uint64_t inode, int64_t mtime_ns = 1) {
  return FileId{1, inode, 100, mtime_ns};
}

LoadedFile loaded(const FileId& id, const std::string& name) {
  return LoadedFile{id, name, "1.0.0"};
}

Strings keys(const std::map<std::string, Mark>& marks) {
  Strings out;
  for (const auto& [file, mark] : marks) {
    out.push_back(file);
  }
  return out;
}

TEST(ReloadPlan, UnchangedDirectoryChangesNothing) {
  Known known;
  known.loaded[kA] = loaded(file_id(1), "org.a");
  const Listing files = {{kA, file_id(1)}};
  EXPECT_FALSE(loaded_file_changed(known, files));
  const Plan plan = make_plan(known, files, {}, false);
  EXPECT_TRUE(plan.release.empty());
  EXPECT_TRUE(plan.load.empty());
  EXPECT_TRUE(plan.hold.empty());
  EXPECT_FALSE(plan.changed);
}

TEST(ReloadPlan, NewFilesLoadInNameOrder) {
  Known known;
  known.loaded[kB] = loaded(file_id(2), "org.b");
  const Listing files = {{kC, file_id(3)}, {kA, file_id(1)}, {kB, file_id(2)}};
  const Plan plan = make_plan(known, files, {}, false);
  EXPECT_EQ(plan.load, (Strings{kA, kC}));
  EXPECT_TRUE(plan.release.empty());
  EXPECT_TRUE(plan.changed);
}

TEST(ReloadPlan, ReplacedFileWithoutInstancesIsReleasedAndLoaded) {
  Known known;
  known.loaded[kA] = loaded(file_id(1), "org.a");
  const Listing files = {{kA, file_id(1, 2)}};  // same inode, new mtime
  EXPECT_TRUE(loaded_file_changed(known, files));
  const Plan plan = make_plan(known, files, {{"org.a", 0}}, false);
  EXPECT_EQ(plan.release, Strings{kA});
  EXPECT_EQ(plan.load, Strings{kA});
  EXPECT_TRUE(plan.changed);
}

TEST(ReloadPlan, RemovedFileWithoutInstancesIsReleased) {
  Known known;
  known.loaded[kA] = loaded(file_id(1), "org.a");
  known.loaded[kB] = loaded(file_id(2), "org.b");
  const Listing files = {{kB, file_id(2)}};
  EXPECT_TRUE(loaded_file_changed(known, files));
  const Plan plan = make_plan(known, files, {{"org.b", 3}}, false);
  EXPECT_EQ(plan.release, Strings{kA});
  EXPECT_TRUE(plan.load.empty());
  EXPECT_TRUE(plan.changed);
}

TEST(ReloadPlan, ChangedFileWithInstancesIsHeld) {
  Known known;
  known.loaded[kA] = loaded(file_id(1), "org.a");
  const Listing files = {{kA, file_id(9)}};
  const Plan plan = make_plan(known, files, {{"org.a", 2}}, false);
  EXPECT_TRUE(plan.release.empty());
  EXPECT_TRUE(plan.load.empty());
  EXPECT_EQ(keys(plan.hold), Strings{kA});
  EXPECT_EQ(plan.newly_held, Strings{kA});
  EXPECT_EQ(plan.hold.at(kA).id, file_id(9));
  const std::string& message = plan.hold.at(kA).message;
  EXPECT_NE(message.find("org.a 1.0.0"), std::string::npos) << message;
  EXPECT_NE(message.find("replaced while 2 instance(s) use it"), std::string::npos) << message;
  EXPECT_TRUE(plan.changed);
}

TEST(ReloadPlan, RemovedFileWithInstancesIsHeldAsRemoved) {
  Known known;
  known.loaded[kA] = loaded(file_id(1), "org.a");
  const Plan plan = make_plan(known, {}, {{"org.a", 1}}, false);
  EXPECT_TRUE(plan.release.empty());
  ASSERT_EQ(keys(plan.hold), Strings{kA});
  EXPECT_EQ(plan.hold.at(kA).id.device, 0u);
  EXPECT_NE(plan.hold.at(kA).message.find("removed while 1 instance(s)"), std::string::npos);
}

TEST(ReloadPlan, TheSameHeldChangeIsNotReportedAgain) {
  Known known;
  known.loaded[kA] = loaded(file_id(1), "org.a");
  known.held[kA] = Mark{file_id(9), "held before"};
  const Plan plan = make_plan(known, {{kA, file_id(9)}}, {{"org.a", 2}}, false);
  ASSERT_EQ(keys(plan.hold), Strings{kA});
  EXPECT_EQ(plan.hold.at(kA).message, "held before");
  EXPECT_TRUE(plan.newly_held.empty());
  EXPECT_FALSE(plan.changed);
}

TEST(ReloadPlan, AnotherChangeOfAHeldFileIsReportedAgain) {
  Known known;
  known.loaded[kA] = loaded(file_id(1), "org.a");
  known.held[kA] = Mark{file_id(9), "held before"};
  const Plan plan = make_plan(known, {}, {{"org.a", 2}}, false);
  EXPECT_EQ(plan.newly_held, Strings{kA});
  EXPECT_NE(plan.hold.at(kA).message, "held before");
  EXPECT_TRUE(plan.changed);
}

TEST(ReloadPlan, HeldFileReleasedOnceItsInstancesAreGone) {
  Known known;
  known.loaded[kA] = loaded(file_id(1), "org.a");
  known.held[kA] = Mark{FileId{}, "held before"};
  const Plan plan = make_plan(known, {}, {}, false);
  EXPECT_EQ(plan.release, Strings{kA});
  EXPECT_TRUE(plan.hold.empty());
  EXPECT_TRUE(plan.changed);
}

TEST(ReloadPlan, RestoredFileEndsItsHold) {
  Known known;
  known.loaded[kA] = loaded(file_id(1), "org.a");
  known.held[kA] = Mark{FileId{}, "held before"};
  const Listing files = {{kA, file_id(1)}};
  EXPECT_FALSE(loaded_file_changed(known, files));
  const Plan plan = make_plan(known, files, {}, false);
  EXPECT_TRUE(plan.hold.empty());
  EXPECT_TRUE(plan.release.empty());
  EXPECT_TRUE(plan.changed);  // the refusal shown with the catalogs goes away
}

TEST(ReloadPlan, RefusedFileIsNotTriedAgainUntilItChanges) {
  Known known;
  known.refused[kA] = Mark{file_id(1), "ABI major 2"};
  const Plan plan = make_plan(known, {{kA, file_id(1)}}, {}, false);
  EXPECT_TRUE(plan.load.empty());
  EXPECT_EQ(keys(plan.refused), Strings{kA});
  EXPECT_EQ(plan.refused.at(kA).message, "ABI major 2");
  EXPECT_FALSE(plan.changed);
}

TEST(ReloadPlan, ChangedRefusedFileIsTriedAgain) {
  Known known;
  known.refused[kA] = Mark{file_id(1), "ABI major 2"};
  const Plan plan = make_plan(known, {{kA, file_id(2)}}, {}, false);
  EXPECT_EQ(plan.load, Strings{kA});
  EXPECT_TRUE(plan.refused.empty());
  EXPECT_TRUE(plan.changed);
}

TEST(ReloadPlan, RemovedRefusedFileIsForgotten) {
  Known known;
  known.refused[kA] = Mark{file_id(1), "ABI major 2"};
  const Plan plan = make_plan(known, {}, {}, false);
  EXPECT_TRUE(plan.load.empty());
  EXPECT_TRUE(plan.refused.empty());
  EXPECT_TRUE(plan.changed);
}

TEST(ReloadPlan, RereadConfigurationTriesEveryRefusedFileAgain) {
  Known known;
  known.loaded[kB] = loaded(file_id(2), "org.b");
  known.refused[kA] = Mark{file_id(1), "needs a setting"};
  const Plan plan = make_plan(known, {{kA, file_id(1)}, {kB, file_id(2)}}, {}, true);
  EXPECT_EQ(plan.load, Strings{kA});
  EXPECT_TRUE(plan.refused.empty());
  EXPECT_TRUE(plan.changed);
}

TEST(ReloadPlan, RereadConfigurationAloneStillPublishes) {
  Known known;
  known.loaded[kA] = loaded(file_id(1), "org.a");
  const Plan plan = make_plan(known, {{kA, file_id(1)}}, {}, true);
  EXPECT_TRUE(plan.load.empty());
  EXPECT_TRUE(plan.release.empty());
  EXPECT_TRUE(plan.changed);
}

TEST(ReloadPlan, MixedRescan) {
  Known known;
  known.loaded[kA] = loaded(file_id(1), "org.a");  // replaced, no instances
  known.loaded[kB] = loaded(file_id(2), "org.b");  // replaced, instances
  known.refused[kC] = Mark{file_id(3), "broken"};  // unchanged
  const std::string new_file = "/plugins/0-new.so";
  const Listing files = {
      {kA, file_id(11)}, {kB, file_id(12)}, {kC, file_id(3)}, {new_file, file_id(4)}};
  const Plan plan = make_plan(known, files, {{"org.b", 5}}, false);
  EXPECT_EQ(plan.release, Strings{kA});
  EXPECT_EQ(plan.load, (Strings{new_file, kA}));
  EXPECT_EQ(keys(plan.hold), Strings{kB});
  EXPECT_EQ(keys(plan.refused), Strings{kC});
  EXPECT_TRUE(plan.changed);
}

}  // namespace
}  // namespace osbd::reload
