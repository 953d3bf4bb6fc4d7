// The one translation unit that compiles stb_image and stb_image_write (header-only libraries;
// every other file includes the headers without the *_IMPLEMENTATION macros).
//
// Only the formats the loader reads: JPEG, PNG and BMP. The others (GIF, PNM, PSD, HDR, PIC,
// TGA) are where fuzzing found Debian's stb_image overflowing the heap (16-bit PNM) or
// allocating gigabytes from a 25-byte header (GIF); a file in them is now "unknown image type".
// STBI_MAX_DIMENSIONS refuses a header over 2^14 pixels a side before anything is allocated;
// decode_image (image_io.cpp) also caps the pixel count from stbi_info_from_memory.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_MAX_DIMENSIONS (1 << 14)
#include <stb_image.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
