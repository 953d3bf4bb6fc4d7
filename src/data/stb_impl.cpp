// The one translation unit that compiles stb_image and stb_image_write (header-only libraries;
// every other file includes the headers without the *_IMPLEMENTATION macros).
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb_image.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
