/* A perfectly good shared library that is not a mestys plugin. */
int some_library_function(int x);
__attribute__((visibility("default"))) int some_library_function(int x) { return x + 1; }
