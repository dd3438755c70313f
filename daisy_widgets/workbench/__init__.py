"""The Daisy Workbench in JupyterLab: data and algorithm toolboxes, log and status, plots, the workflow builder.

The paper's third application (after Mantid Workbench and Spyder), in the
browser: JupyterLab is the editor and the console; this package adds Daisy's
panels around them (docked through ipylab) over one session data store.

==================  ==========================================================
module              what it holds
==================  ==========================================================
``objects``         the session's store kept in step with the console (model)
``algorithms``      registry by category, search, one run request (model)
``events``          the session's log, Dask and GPU state (model)
``replay``          ``daisy_run``: the function of the replay lines
``catalog``         browsing the data service's catalog (model)
``data_panel``      the data toolbox (tree, preview, files, catalog)
``algorithm_panel`` the algorithm toolbox (list, form, Run with progress/Cancel)
``log_panel``       the log and status panel
``plots``           previews and plot windows by kind (bqplot)
``layout``          :class:`Workbench`, docking in JupyterLab, console, builder
``kernel``          the "Daisy Workbench" kernel that starts it all
==================  ==========================================================

Open it from the app index (*Workbench*), with ``daisy workbench``, or from any
kernel: ``from daisy_widgets.workbench.layout import start_workbench; wb = start_workbench()``.
"""
