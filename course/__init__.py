"""The segenv course: tutorials, exercises and graders, and the tools to run it.

``python -m course.check 2`` checks your step 2 in one line per check;
``python -m course.grade SUBMISSIONS`` writes a gradebook over a folder of submissions;
``python -m course.release OUT`` writes the student copy (no solutions);
``python -m course.notebooks`` regenerates each step's ``tutorial.ipynb`` from its README.
"""
