/* The serial file driver of src/io/vfd.c (internal). */
#ifndef GENDEC_IO_VFD_H
#define GENDEC_IO_VFD_H

#include <hdf5.h>

/* Reached through H5Fget_vfd_handle on a file opened with this driver. */
typedef struct {
    int err;   /* errno of the first I/O failure, 0 if none */
    int* sink; /* if set, receives err when the driver closes the file (the state dies with the file) */
} io_vfd_state;

/* Registers the driver with HDF5 and returns its id (release with H5FDunregister once the file is open; an open
 * file keeps its own reference). H5I_INVALID_HID on failure. */
hid_t io_vfd_register(void);

#endif
