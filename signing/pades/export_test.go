package pades

// SignUnchecked signs without verifying the existing signatures first, as
// an attacker's tool (or an older ltnode) would: the tests build attack
// files with it.
var SignUnchecked = signUnchecked
