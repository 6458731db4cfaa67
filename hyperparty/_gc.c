/* hyperparty._gc: PyObject_GC_UnTrack as a plain C function (see hyperparty/untrack.py).
 *
 * untrack(obj) stops the cyclic garbage collector from tracking obj when it is a tracked container, and
 * does nothing otherwise.  Reached through ctypes the same call costs about 180 ns; here about 30 ns, and
 * the tree-node cache makes two of them per node it stores.  The caller guarantees that obj cannot be part
 * of a reference cycle.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *
gc_untrack(PyObject *module, PyObject *obj)
{
    (void)module;
    if (PyObject_IS_GC(obj) && PyObject_GC_IsTracked(obj)) {
        PyObject_GC_UnTrack(obj);
    }
    Py_RETURN_NONE;
}

static PyMethodDef gc_methods[] = {
    {"untrack", gc_untrack, METH_O,
     "untrack(obj): stop the cyclic GC from tracking obj (a no-op for untracked or non-container objects)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef gc_module = {
    PyModuleDef_HEAD_INIT, "_gc", "PyObject_GC_UnTrack for objects that cannot be in a reference cycle.",
    -1, gc_methods,
};

PyMODINIT_FUNC
PyInit__gc(void)
{
    return PyModule_Create(&gc_module);
}
