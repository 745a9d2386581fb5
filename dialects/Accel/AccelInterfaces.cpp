//===- AccelInterfaces.cpp - Generated interface definitions -------------===//
#include "dialects/Accel/AccelInterfaces.h"

#include "dialects/Accel/AccelInterfaces.cpp.inc"
