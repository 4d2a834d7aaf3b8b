// What the version-1 dwaed that wrote checkpoint_v1_dw_shadow.ckpt (see
// README.md here) answered: the first two rows of KDDTest+, its scores for
// them (`dwae score --json`) and its threshold. The migration tests in core
// and client check a migrated model against these.
#ifndef DWAE_TESTS_TESTDATA_CHECKPOINT_V1_FIXTURE_H_
#define DWAE_TESTS_TESTDATA_CHECKPOINT_V1_FIXTURE_H_

namespace dwae::testdata {

// Relative to the source tree root.
inline constexpr char kVersion1File[] =
    "tests/testdata/checkpoint_v1_dw_shadow.ckpt";
inline constexpr char kVersion1Row1[] =
    "0,tcp,other,REJ,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,1,0.00,0.00,1.00,"
    "1.00,1.00,0.00,0.00,118,17,0.14,0.06,0.01,0.00,0.00,0.00,0.09,0.65,"
    "httptunnel,11";
inline constexpr char kVersion1Row2[] =
    "0,tcp,private,REJ,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,229,10,0.00,0.00,"
    "1.00,1.00,0.04,0.06,0.00,255,10,0.04,0.06,0.00,0.00,0.00,0.00,1.00,1.00,"
    "neptune,21";
inline constexpr double kVersion1Score1 = 0.071990981698036194;
inline constexpr double kVersion1Score2 = 0.089887261390686035;
inline constexpr double kVersion1Threshold = 0.064829504117369666;

}  // namespace dwae::testdata

#endif  // DWAE_TESTS_TESTDATA_CHECKPOINT_V1_FIXTURE_H_
