# Warnings and sanitizers for bootgate's own targets only (never for third-party code).
set(BOOTGATE_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
    -Wunused -Woverloaded-virtual -Wnull-dereference -Wformat=2 -Wimplicit-fallthrough)

set(BOOTGATE_SANITIZER_FLAGS)
if(BOOTGATE_SANITIZE)
  set(BOOTGATE_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
      -fno-omit-frame-pointer)
  add_compile_options(${BOOTGATE_SANITIZER_FLAGS})
  add_link_options(${BOOTGATE_SANITIZER_FLAGS})
endif()

# In fuzz builds every bootgate target gets coverage instrumentation (not only the fuzzer's own
# file), or libFuzzer sees a fraction of the edges it could steer by.
if(BOOTGATE_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

function(bootgate_target_defaults target)
  target_compile_options(${target} PRIVATE ${BOOTGATE_WARNINGS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()
