// The single Catch2 main; every unit-test executable links this object.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
