/* producer._cframes: the spool's event-frame writer in one C call per put() (issue 22, item 5).

   The same contract as the pure-Python writer in producer/_frame_writer.py, byte for byte (the
   tests compare the two):

       frame = [u32 check][u32 index][u16 length][u8 0][u8 kind 0xE3][payload]   (little-endian)
       check = adler32(payload) XOR index

   The payload is copied first, then the header, with the kind byte (the commit mark) stored last:
   a frame without its kind byte is an append that never returned.

   FrameWriter(on_full) writes into a buffer attached with attach(buffer, start, limit, first);
   append(payload) returns the event's append index (first + events written since attach), or, when
   the payload does not fit before `limit`, is over 65535 bytes, or nothing is attached, returns
   on_full(payload) (the spool seals the segment, opens the next, attaches it, and appends again).
   detach() releases the buffer (a memory map cannot be closed while it is exported).

   Not thread-safe: the producer holds its lock around every call, as around the Python writer. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include "structmember.h"

#define FRAME_BYTES 12
#define EVENT_KIND 0xE3
#define MAX_PAYLOAD 0xFFFF
#define ADLER_MOD 65521u

/* zlib's adler32 (RFC 1950, section 8.2), seeded with 1; the tests check it against zlib.adler32. */
static uint32_t adler32(const unsigned char *p, Py_ssize_t n) {
    uint32_t a = 1, b = 0;
    while (n > 0) {
        Py_ssize_t block = n < 5552 ? n : 5552; /* the most bytes before b can overflow 32 bits */
        n -= block;
        while (block >= 4) {
            a += p[0]; b += a;
            a += p[1]; b += a;
            a += p[2]; b += a;
            a += p[3]; b += a;
            p += 4;
            block -= 4;
        }
        while (block--) {
            a += *p++;
            b += a;
        }
        a %= ADLER_MOD;
        b %= ADLER_MOD;
    }
    return (b << 16) | a;
}

static void put_u32(unsigned char *at, uint32_t value) {
    at[0] = (unsigned char)value;
    at[1] = (unsigned char)(value >> 8);
    at[2] = (unsigned char)(value >> 16);
    at[3] = (unsigned char)(value >> 24);
}

typedef struct {
    PyObject_HEAD
    PyObject *on_full;
    Py_buffer view;
    int attached;
    Py_ssize_t start; /* where the next payload goes; its header goes in the 12 bytes before */
    Py_ssize_t limit; /* the room ends here */
    long long first;  /* append index of the first event since attach */
    long long count;  /* events written since attach */
} FrameWriter;

static int FrameWriter_init(FrameWriter *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"on_full", NULL};
    PyObject *on_full;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O:FrameWriter", keywords, &on_full)) return -1;
    if (!PyCallable_Check(on_full)) {
        PyErr_SetString(PyExc_TypeError, "on_full must be callable");
        return -1;
    }
    Py_INCREF(on_full);
    Py_XSETREF(self->on_full, on_full);
    return 0;
}

static void release(FrameWriter *self) {
    if (self->attached) {
        self->attached = 0;
        PyBuffer_Release(&self->view);
    }
}

static int FrameWriter_traverse(FrameWriter *self, visitproc visit, void *arg) {
    Py_VISIT(self->on_full);
    if (self->attached) Py_VISIT(self->view.obj);
    return 0;
}

static int FrameWriter_clear(FrameWriter *self) {
    release(self);
    Py_CLEAR(self->on_full);
    return 0;
}

static void FrameWriter_dealloc(FrameWriter *self) {
    PyObject_GC_UnTrack(self);
    FrameWriter_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *FrameWriter_attach(FrameWriter *self, PyObject *args) {
    PyObject *buffer;
    Py_ssize_t start, limit;
    long long first;
    if (!PyArg_ParseTuple(args, "OnnL:attach", &buffer, &start, &limit, &first)) return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE) < 0) return NULL;
    if (start < FRAME_BYTES || limit < start || limit > view.len || first < 0) {
        PyBuffer_Release(&view);
        PyErr_Format(PyExc_ValueError, "attach: need 12 <= start <= limit <= len(buffer) and first >= 0");
        return NULL;
    }
    release(self);
    self->view = view;
    self->attached = 1;
    self->start = start;
    self->limit = limit;
    self->first = first;
    self->count = 0;
    Py_RETURN_NONE;
}

static PyObject *FrameWriter_detach(FrameWriter *self, PyObject *unused) {
    release(self);
    Py_RETURN_NONE;
}

static PyObject *write_frame(FrameWriter *self, const unsigned char *payload, Py_ssize_t length) {
    unsigned char *at = (unsigned char *)self->view.buf + self->start;
    uint32_t index = (uint32_t)self->count;
    memcpy(at, payload, (size_t)length);
    unsigned char *header = at - FRAME_BYTES;
    put_u32(header, adler32(payload, length) ^ index);
    put_u32(header + 4, index);
    header[8] = (unsigned char)length;
    header[9] = (unsigned char)(length >> 8);
    header[10] = 0;
#if defined(__GNUC__) || defined(__clang__)
    __atomic_store_n(header + 11, (unsigned char)EVENT_KIND, __ATOMIC_RELEASE); /* the commit mark, last */
#else
    *(volatile unsigned char *)(header + 11) = EVENT_KIND;
#endif
    self->start += length + FRAME_BYTES;
    self->count += 1;
    return PyLong_FromLongLong(self->first + self->count - 1);
}

static PyObject *FrameWriter_append(FrameWriter *self, PyObject *payload) {
    if (PyBytes_CheckExact(payload)) {
        Py_ssize_t length = PyBytes_GET_SIZE(payload);
        if (!self->attached || length > MAX_PAYLOAD || self->start + length > self->limit)
            return PyObject_CallOneArg(self->on_full, payload);
        return write_frame(self, (const unsigned char *)PyBytes_AS_STRING(payload), length);
    }
    Py_buffer data;
    if (PyObject_GetBuffer(payload, &data, PyBUF_SIMPLE) < 0) return NULL;
    PyObject *result;
    if (!self->attached || data.len > MAX_PAYLOAD || self->start + data.len > self->limit)
        result = PyObject_CallOneArg(self->on_full, payload);
    else
        result = write_frame(self, (const unsigned char *)data.buf, data.len);
    PyBuffer_Release(&data);
    return result;
}

static PyObject *FrameWriter_get_appended(FrameWriter *self, void *closure) {
    return PyLong_FromLongLong(self->first + self->count);
}

static PyObject *FrameWriter_get_attached(FrameWriter *self, void *closure) {
    return PyBool_FromLong(self->attached);
}

static PyMethodDef FrameWriter_methods[] = {
    {"attach", (PyCFunction)FrameWriter_attach, METH_VARARGS,
     "attach(buffer, start, limit, first): write frames into buffer from start (a payload offset) up to limit"},
    {"detach", (PyCFunction)FrameWriter_detach, METH_NOARGS, "release the attached buffer"},
    {"append", (PyCFunction)FrameWriter_append, METH_O, "append(payload) -> the event's append index"},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef FrameWriter_members[] = {
    {"start", T_PYSSIZET, offsetof(FrameWriter, start), READONLY, "where the next payload goes"},
    {"count", T_LONGLONG, offsetof(FrameWriter, count), READONLY, "events written since attach"},
    {"first", T_LONGLONG, offsetof(FrameWriter, first), READONLY, "append index of the first of them"},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef FrameWriter_getset[] = {
    {"appended", (getter)FrameWriter_get_appended, NULL, "first + count: the next append index", NULL},
    {"attached", (getter)FrameWriter_get_attached, NULL, "whether a buffer is attached", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject FrameWriterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "producer._cframes.FrameWriter",
    .tp_doc = "The spool's event-frame writer (see producer/_frame_writer.py).",
    .tp_basicsize = sizeof(FrameWriter),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)FrameWriter_init,
    .tp_dealloc = (destructor)FrameWriter_dealloc,
    .tp_traverse = (traverseproc)FrameWriter_traverse,
    .tp_clear = (inquiry)FrameWriter_clear,
    .tp_methods = FrameWriter_methods,
    .tp_members = FrameWriter_members,
    .tp_getset = FrameWriter_getset,
};

static PyObject *cframes_adler32(PyObject *module, PyObject *payload) {
    Py_buffer data;
    if (PyObject_GetBuffer(payload, &data, PyBUF_SIMPLE) < 0) return NULL;
    uint32_t value = adler32((const unsigned char *)data.buf, data.len);
    PyBuffer_Release(&data);
    return PyLong_FromUnsignedLong(value);
}

static PyMethodDef module_methods[] = {
    {"adler32", (PyCFunction)cframes_adler32, METH_O, "adler32(data): as zlib.adler32(data) (for the tests)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cframes_module = {
    PyModuleDef_HEAD_INIT, "producer._cframes", "The spool's event-frame writer in C.", -1, module_methods,
};

PyMODINIT_FUNC PyInit__cframes(void) {
    if (PyType_Ready(&FrameWriterType) < 0) return NULL;
    PyObject *module = PyModule_Create(&cframes_module);
    if (module == NULL) return NULL;
    Py_INCREF(&FrameWriterType);
    if (PyModule_AddObject(module, "FrameWriter", (PyObject *)&FrameWriterType) < 0) {
        Py_DECREF(&FrameWriterType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
