"""Cross-validated choice of the per-character classifier's hyper-parameters."""

from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

GRIDS = {
    "svm": {"classifier__C": [1.0, 3.0, 10.0, 30.0], "classifier__gamma": ["scale", 0.01, 0.03]},
    # 9: what the default KNN counts where segmentation by recognition learns two copies of each character
    # (``KNN_PER_COPY``); the search's KNN keeps the k it is given
    "knn": {"classifier__n_neighbors": [1, 3, 5, 7, 9], "classifier__weights": ["uniform", "distance"]},
}


def search_classifier(rec, X, y, cv=3, seed=0, n_jobs=1):
    """Grid-search the classifier of *rec* on training images only; sets the best params on *rec*.

    Scores whole-string accuracy of the whole recognizer by cross-validation.
    Returns the chosen parameters.
    """
    name = rec.classifier if isinstance(rec.classifier, str) else {
        "SVC": "svm", "KNeighborsClassifier": "knn"}.get(type(rec.classifier).__name__)
    grid = GRIDS.get(name)
    if grid is None:
        return {}
    if isinstance(rec.classifier, str):
        from captchakit.classifiers._recognizer import make_classifier

        rec.set_params(classifier=make_classifier(name))
    # the classifier grid is searched with the front end fixed (no front-end search inside each fit)
    probe = clone(rec).set_params(front_end_search=False) if "front_end_search" in rec.get_params() else rec
    gs = GridSearchCV(probe, grid, cv=KFold(cv, shuffle=True, random_state=seed), n_jobs=n_jobs, refit=False)
    gs.fit(list(X), list(y))
    rec.set_params(**gs.best_params_)
    return {**gs.best_params_, "cv_string_accuracy": round(float(gs.best_score_), 4)}
