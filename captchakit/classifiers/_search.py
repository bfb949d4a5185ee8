"""Cross-validated choice of the per-character classifier's hyper-parameters."""

from sklearn.model_selection import GridSearchCV, KFold

GRIDS = {
    "SVC": {"classifier__C": [1.0, 3.0, 10.0, 30.0], "classifier__gamma": ["scale", 0.01, 0.03]},
    "KNeighborsClassifier": {"classifier__n_neighbors": [1, 3, 5, 7], "classifier__weights": ["uniform", "distance"]},
}


def search_classifier(rec, X, y, cv=3, seed=0, n_jobs=1):
    """Grid-search the classifier of *rec* on training images only; sets the best params on *rec*.

    Scores whole-string accuracy of the whole recognizer by cross-validation.
    Returns the chosen parameters.
    """
    grid = GRIDS.get(type(rec.classifier).__name__)
    if grid is None:
        return {}
    gs = GridSearchCV(rec, grid, cv=KFold(cv, shuffle=True, random_state=seed), n_jobs=n_jobs, refit=False)
    gs.fit(list(X), list(y))
    rec.set_params(**gs.best_params_)
    return {**gs.best_params_, "cv_string_accuracy": round(float(gs.best_score_), 4)}
