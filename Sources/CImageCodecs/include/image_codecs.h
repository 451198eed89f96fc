#ifndef CLIP_IMAGE_CODECS_H
#define CLIP_IMAGE_CODECS_H
// placeholder replaced by the codec implementation
#endif
