"""Validation par les bibliothèques : tables CSV (pandera) et fichiers JSON (pydantic), messages en français.

Un seul traducteur par bibliothèque : :func:`traduire_erreurs_pandera` et :func:`traduire_erreurs_pydantic`
transforment leurs erreurs en une :class:`~donnees.schemas.ErreurDonnees` qui nomme le fichier, la ligne ou
le champ, la valeur reçue et la correction. :func:`valider_table` et :func:`valider_json` les appliquent.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pandera.pandas as pa
import pydantic

from donnees.erreurs import ErreurDonnees

_journal = logging.getLogger(__name__)
Modele = TypeVar("Modele", bound=pydantic.BaseModel)

# ------------------------------------------------------------------------------------------------ pandera

# Vérifications internes de pandera → explication française (les autres portent leur ``error=`` français).
VERIFICATIONS_PANDERA = {
    "field_uniqueness": "valeur en double (chaque valeur de cette colonne doit être unique)",
    "not_nullable": "valeur manquante",
}
# Ordre de préférence du premier cas cité : colonne manquante, type, doublon, puis règles de valeurs.
_PRIORITES = {"column_in_dataframe": 0, "coerce_dtype": 1, "dtype": 1, "not_nullable": 2, "field_uniqueness": 3}


def texte_non_vide(nom: str) -> pa.Check:
    """Vérification pandera : texte non vide (espaces seuls refusés)."""
    return pa.Check(lambda s: s.astype(str).str.strip().ne("") & s.notna(), element_wise=False,
                    error=f"{nom} vide : renseignez-la")


def nombre_entre(minimum: float, maximum: float) -> pa.Check:
    """Vérification pandera, valeur par valeur : un nombre dans [minimum ; maximum] (type d'origine gardé)."""
    return pa.Check(lambda v: pd.api.types.is_number(v) and not isinstance(v, bool) and minimum <= v <= maximum,
                    element_wise=True, error=f"nombre attendu dans [{minimum} ; {maximum}]")


def _priorite(verif: str) -> int:
    return _PRIORITES.get(verif.split("(")[0], 4)


def _expliquer_cas(verif: str) -> str:
    base = verif.split("(")[0]
    if base in ("coerce_dtype", "dtype"):
        return "valeur non numérique" if "int" in verif or "float" in verif else f"type inattendu ({verif})"
    return VERIFICATIONS_PANDERA.get(base, verif)


def traduire_erreurs_pandera(erreurs: pa.errors.SchemaErrors, table: pd.DataFrame, nom_fichier: str,
                             couche: str | None = None, colonne_code: str | None = "code",
                             correction: str = "") -> ErreurDonnees:
    """Une :class:`ErreurDonnees` pour le premier cas fautif (fichier, ligne du CSV, code, colonne, valeur).

    ``table`` est la table validée, indexée de 0 (ligne 2 du fichier, après l'en-tête).
    """
    cas = erreurs.failure_cases.copy()
    cas["_rang"] = cas["check"].astype(str).map(_priorite)
    # Les erreurs en cascade (comparaison impossible sur une colonne mal typée) passent après les autres.
    cas["_cascade"] = cas["failure_case"].astype(str).str.contains("Error\\(", regex=True) & cas["index"].isna()
    cas = cas.sort_values(["_cascade", "_rang"], kind="stable")
    premier = cas.iloc[0]
    verif = str(premier["check"])
    autres = len(cas.loc[~cas["_cascade"], "index"].dropna().unique()) - 1
    suite = f" ({autres} autre(s) ligne(s) en cause)" if autres > 0 else ""
    conseil = f" {correction}" if correction else ""
    if verif == "column_in_dataframe":
        colonne = str(premier["failure_case"])
        return ErreurDonnees(f"Fichier {nom_fichier} : colonne « {colonne} » manquante.{conseil}",
                             couche or nom_fichier, colonne)
    colonne = None if pd.isna(premier["column"]) else str(premier["column"])
    index = premier["index"]
    if index is None or pd.isna(index):
        return ErreurDonnees(f"Fichier {nom_fichier} : colonne « {colonne} » : {_expliquer_cas(verif)}.{conseil}",
                             couche or nom_fichier, colonne)
    ligne = int(index) + 2
    code = table.at[index, colonne_code] if colonne_code and colonne_code in table.columns else None
    sur_la_ligne = premier["schema_context"] == "DataFrameSchema"
    repere = f" ({code})" if code is not None and not pd.isna(code) and (sur_la_ligne or colonne != colonne_code) \
        else ""
    if sur_la_ligne:  # règle sur la ligne : son message nomme entre « » les colonnes dont on cite les valeurs
        citees = [c for c in re.findall(r"« (\w+) »", verif) if c in table.columns]
        valeurs = ", ".join(f"{c} = {table.at[index, c]}" for c in citees)
        message = f"Fichier {nom_fichier}, ligne {ligne}{repere} : {verif}{f' ({valeurs})' if valeurs else ''}"
    else:
        message = (f"Fichier {nom_fichier}, ligne {ligne}{repere} : colonne « {colonne} » = "
                   f"« {premier['failure_case']} » : {_expliquer_cas(verif)}")
    return ErreurDonnees(f"{message}{suite}.{conseil}", couche or nom_fichier, colonne, [index])


def valider_table(table: pd.DataFrame, schema: pa.DataFrameSchema, nom_fichier: str, couche: str | None = None,
                  colonne_code: str | None = "code", correction: str = "") -> pd.DataFrame:
    """Valide une table lue d'un CSV (index 0, 1, …) ; lève :class:`ErreurDonnees` au premier cas fautif."""
    try:
        return schema.validate(table, lazy=True)
    except pa.errors.SchemaErrors as erreurs:
        _journal.info("Fichier %s non conforme : %s cas", nom_fichier, len(erreurs.failure_cases))
        raise traduire_erreurs_pandera(erreurs, table, nom_fichier, couche, colonne_code, correction) from None


def lire_csv_valide(chemin: Path, schema: pa.DataFrameSchema, couche: str | None = None,
                    colonne_code: str | None = "code", correction: str = "", **options) -> pd.DataFrame:
    """Lit un CSV (``options`` passées à ``pandas.read_csv``) et le valide par ``schema``."""
    try:
        table = pd.read_csv(chemin, **options)
    except (OSError, ValueError) as exc:
        raise ErreurDonnees(f"Fichier {Path(chemin).name} illisible : {exc}.", couche or Path(chemin).name) from None
    return valider_table(table, schema, Path(chemin).name, couche, colonne_code, correction)


# ----------------------------------------------------------------------------------------------- pydantic

def _traduire_ou(attendu) -> str:
    """« 'a', 'b' or 'c' » (texte de pydantic) → « 'a', 'b' ou 'c' »."""
    return str(attendu).replace("' or '", "' ou '")


# Types d'erreur de pydantic → explication française (``ctx`` : contexte de l'erreur).
EXPLICATIONS_PYDANTIC = {
    "missing": lambda ctx: "champ obligatoire manquant",
    "extra_forbidden": lambda ctx: "champ inconnu",
    "string_type": lambda ctx: "texte attendu",
    "int_type": lambda ctx: "nombre entier attendu",
    "int_parsing": lambda ctx: "nombre entier attendu",
    "int_from_float": lambda ctx: "nombre entier attendu (sans décimales)",
    "float_type": lambda ctx: "nombre attendu",
    "float_parsing": lambda ctx: "nombre attendu",
    "bool_type": lambda ctx: "vrai ou faux (true / false) attendu",
    "bool_parsing": lambda ctx: "vrai ou faux (true / false) attendu",
    "list_type": lambda ctx: "liste attendue",
    "dict_type": lambda ctx: "objet JSON attendu",
    "model_type": lambda ctx: "objet JSON attendu",
    "model_attributes_type": lambda ctx: "objet JSON attendu",
    "greater_than": lambda ctx: f"doit être supérieur à {ctx.get('gt')}",
    "greater_than_equal": lambda ctx: f"doit être supérieur ou égal à {ctx.get('ge')}",
    "less_than": lambda ctx: f"doit être inférieur à {ctx.get('lt')}",
    "less_than_equal": lambda ctx: f"doit être inférieur ou égal à {ctx.get('le')}",
    "too_short": lambda ctx: f"au moins {ctx.get('min_length')} élément(s) attendu(s)",
    "string_too_short": lambda ctx: "texte vide : renseignez-le",
    "literal_error": lambda ctx: f"valeur attendue parmi {_traduire_ou(ctx.get('expected'))}",
    "enum": lambda ctx: f"valeur attendue parmi {_traduire_ou(ctx.get('expected'))}",
    "string_pattern_mismatch": lambda ctx: f"format attendu : {ctx.get('pattern')}",
}


def nommer_champ(emplacement: tuple) -> str:
    """Chemin lisible d'un champ : ``("parametres", "pluie", 0)`` → ``parametres.pluie[0]``."""
    texte = ""
    for partie in emplacement:
        texte += f"[{partie}]" if isinstance(partie, int) else (f".{partie}" if texte else str(partie))
    return texte or "(racine)"


def expliquer_erreur_pydantic(erreur: dict) -> str:
    """Explication française d'une erreur de pydantic (message d'un validateur du projet gardé tel quel)."""
    if erreur["type"] in ("value_error", "assertion_error"):
        return str(erreur.get("ctx", {}).get("error", erreur["msg"]))
    explication = EXPLICATIONS_PYDANTIC.get(erreur["type"])
    return explication(erreur.get("ctx", {})) if explication else erreur["msg"]


def traduire_erreurs_pydantic(erreurs: pydantic.ValidationError, nom_fichier: str, couche: str | None = None,
                              correction: str = "", nb_max: int = 3) -> ErreurDonnees:
    """Une :class:`ErreurDonnees` citant les premiers champs fautifs : « Fichier X : champ « a.b » : … »."""
    details = erreurs.errors(include_url=False)
    morceaux = []
    for erreur in details[:nb_max]:
        recu = "" if erreur["type"] == "missing" else f" (reçu : {erreur.get('input')!r})"
        morceaux.append(f"champ « {nommer_champ(erreur['loc'])} » : {expliquer_erreur_pydantic(erreur)}{recu}")
    suite = f" ; et {len(details) - nb_max} autre(s) erreur(s)" if len(details) > nb_max else ""
    conseil = f" {correction}" if correction else ""
    premier = nommer_champ(details[0]["loc"]) if details else None
    return ErreurDonnees(f"Fichier {nom_fichier} : {' ; '.join(morceaux)}{suite}.{conseil}",
                         couche or nom_fichier, premier)


def valider_json(modele: type[Modele], contenu, nom_fichier: str, couche: str | None = None,
                 correction: str = "") -> Modele:
    """Valide un contenu JSON déjà lu par ``modele`` ; lève :class:`ErreurDonnees` en français."""
    try:
        return modele.model_validate(contenu)
    except pydantic.ValidationError as erreurs:
        _journal.info("Fichier %s non conforme : %s erreur(s)", nom_fichier, erreurs.error_count())
        raise traduire_erreurs_pydantic(erreurs, nom_fichier, couche, correction) from None


def lire_json_valide(chemin: Path, modele: type[Modele], couche: str | None = None,
                     correction: str = "") -> Modele:
    """Lit un fichier JSON et le valide par ``modele``."""
    try:
        contenu = json.loads(Path(chemin).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ErreurDonnees(f"Fichier {Path(chemin).name} illisible ({chemin}) : {exc}.{' ' + correction}",
                            couche or Path(chemin).name) from None
    return valider_json(modele, contenu, str(chemin), couche, correction)


def lire_parametres_justifies(chemin: Path, entiers: tuple[str, ...], couche: str,
                              justifies: tuple[str, ...] = ()) -> dict:
    """Paramètres d'un fichier JSON où chaque valeur porte sa raison (``justification``) : les clés ``entiers``
    doivent être des entiers ≥ 1 ; ``entiers`` et ``justifies`` doivent être justifiées. Refus en français qui
    nomme le fichier et le champ (:class:`ErreurDonnees`, ``couche``)."""
    parametres = json.loads(Path(chemin).read_text(encoding="utf-8"))
    for cle in entiers:
        valeur = parametres.get(cle)
        if isinstance(valeur, bool) or not isinstance(valeur, int) or valeur < 1:
            raise ErreurDonnees(f"Fichier {Path(chemin).name}, champ « {cle} » : nombre entier ≥ 1 attendu "
                                f"(reçu « {valeur} »).", couche, cle)
    for cle in (*entiers, *justifies):
        if not str(parametres.get("justification", {}).get(cle) or "").strip():
            raise ErreurDonnees(f"Fichier {Path(chemin).name}, champ « {cle} » sans justification : dites pourquoi "
                                "cette valeur.", couche, cle)
    return parametres
