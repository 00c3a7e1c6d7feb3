"""Imports bornés (issue 13, point 5 et point 9) : tout ou rien vrai, bornes de travail, fichiers hostiles.

- la façade écrit un import en une transaction (``MagasinProtege.importer_lot``) : un ``kill -9`` de la CLI
  en pleine écriture ne laisse rien, sur SQLite et PostGIS ; un octet nul à la ligne 200 ne laisse rien ;
- ``desimper verifier`` signale ce qu'un arrêt brutal peut laisser (journal SQLite, intégrité, journal des
  opérations, photos orphelines) ;
- bornes de ``limites_import.json`` (lignes, sommets, durée) ; GeoPackage à vue récursive ou déclencheur ;
- XLSX avec XXE ou bombe d'entités, nom d'entrée de 300 caractères, bombe de décompression : refus français,
  sans trace ni chemin du serveur, par la façade (lecture), la CLI et la page Importer.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pytest
import shapely
from shapely.geometry import Polygon, box

from donnees.comptes import creer_compte
from donnees.config import url_base
from donnees.droits import MagasinProtege
from donnees.erreurs import ErreurDonnees
from donnees.format import formater_nombre as _n
from donnees.import_operations import importer, lire_fichier, preparer_import, proposer_correspondance, seuils
from donnees.lecture_vecteur import neutraliser_geopackage
from donnees.magasin import Magasin
from donnees.verification import verifier_donnees

RACINE = Path(__file__).resolve().parents[1]
MDP = "une phrase de passe solide"
ADMIN = "admin@bassin.fr"
COLONNES = ["nom", "code_insee", "type_site", "statut", "date_fin_travaux", "revetement_avant", "revetement_apres",
            "wkt"]
MARQUES_DE_TRACE = ("Traceback", "File \"", "INSERT INTO", "sqlalchemy", "psycopg", "/tmp/", str(RACINE))


# ------------------------------------------------------------------------------------------------ outils


def _commune(dossier: Path):
    communes = gpd.read_parquet(dossier / "communes.parquet").to_crs(2154)
    return communes.iloc[0]["code_insee"], communes.iloc[0].geometry


def _carres(interieur, nombre: int, cote: float = 12.0, pas: float = 15.0) -> list[Polygon]:
    """``nombre`` carrés Lambert-93 disjoints dans ``interieur``."""
    xmin, ymin, xmax, ymax = interieur.bounds
    carres, x, y = [], xmin, ymin
    while len(carres) < nombre:
        carre = box(x, y, x + cote, y + cote)
        if interieur.contains(carre):
            carres.append(carre)
        x += pas
        if x > xmax:
            x, y = xmin, y + pas
            assert y < ymax, "commune trop petite pour le test"
    return carres


def _csv_operations(dossier: Path, nombre: int, nul_a_la_ligne: int | None = None) -> bytes:
    """CSV de ``nombre`` opérations valides (WKT Lambert-93) dans la première commune du territoire ; la ligne
    ``nul_a_la_ligne`` (numérotée comme dans un tableur, en-tête = 1) a un octet nul dans son nom."""
    code, contour = _commune(dossier)
    tampon = io.StringIO()
    ecrivain = csv.writer(tampon, lineterminator="\n")
    ecrivain.writerow(COLONNES)
    for rang, carre in enumerate(_carres(contour.buffer(-50), nombre), start=2):
        nom = f"Opération importée {rang}" + ("\x00" if rang == nul_a_la_ligne else "")
        ecrivain.writerow([nom, code, "parking", "realisee", "2023-09-15", "enrobe", "pelouse", carre.wkt])
    return tampon.getvalue().encode("utf-8")


def _preparer_magasin(dossier: Path, url: str) -> None:
    magasin = Magasin(url)
    magasin.creer_tables()
    if magasin.lire_utilisateur(ADMIN) is None:
        creer_compte(magasin, ADMIN, "Alice Admin", "administrateur", [], MDP, auteur="test")
    magasin.fermer()


def _environnement(dossier: Path, url: str | None) -> dict:
    env = {**os.environ, "DESIMPER_DONNEES": str(dossier), "PYTHONPATH": str(RACINE), "PYTHONUNBUFFERED": "1"}
    env.pop("DESIMPER_BASE_URL", None)
    if url is not None:
        env["DESIMPER_BASE_URL"] = url
    return env


def _cli(env: dict, *arguments: str, delai: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RACINE / "cli.py"), *arguments], env=env, capture_output=True,
                          text=True, timeout=delai, cwd=RACINE)


def _compter(url: str) -> dict[str, int]:
    magasin = Magasin(url)
    try:
        return magasin.compter()
    finally:
        magasin.fermer()


def _sans_trace(texte: str) -> None:
    for marque in MARQUES_DE_TRACE:
        assert marque not in texte, f"« {marque} » dans : {texte[-2000:]}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def territoire(request, dossier_demo_copie) -> tuple[Path, str]:
    """Démonstration copiée, avec un administrateur ; magasin SQLite du dossier ou base PostGIS neuve."""
    if request.param == "sqlite":
        url = url_base(dossier_demo_copie)
    else:
        url = request.getfixturevalue("fabrique_base_postgresql")("desimper_imports_bornes")
    _preparer_magasin(dossier_demo_copie, url)
    return dossier_demo_copie, url


# ------------------------------------------------------------------------- façade : un lot, une transaction


def test_facade_importe_en_une_transaction_et_verifie_tout_le_lot(magasin, monkeypatch):
    """Droits et règles vérifiés pour tout le lot avant d'écrire ; un refus (rang et nom cités) n'écrit rien."""
    creer_compte(magasin, ADMIN, "Alice", "administrateur", [], MDP, auteur="test")
    referent = creer_compte(magasin, "ref@sete.fr", "Camille", "referent", ["34301"], MDP, auteur="test")
    zone = {"geometrie": box(3.69, 43.40, 3.6902, 43.4002), "revetement_avant": "enrobe", "revetement_apres": "pelouse"}
    operation = {"nom": "Cour", "code_insee": "34301", "type_site": "parking", "statut": "programmee",
                 "zones": [zone]}
    facade = MagasinProtege(magasin, referent, noms_communes={"34301": "Sète", "34023": "Balaruc"})
    monkeypatch.setattr(MagasinProtege, "contours_communes", property(lambda self: {}))
    transactions = []
    ecrire = type(magasin)._ecrire
    monkeypatch.setattr(type(magasin), "_ecrire", lambda self: transactions.append(1) or ecrire(self))

    lot = [operation, {**operation, "nom": "Ailleurs", "code_insee": "34023"}]
    with pytest.raises(ErreurDonnees, match=r"^Opération n° 2 du lot \(« Ailleurs »\) : .*34023"):
        facade.importer_lot(lot)
    lot_valide = [operation, {**operation, "nom": "Valide par un référent", "validation": "validee"}]
    with pytest.raises(ErreurDonnees, match=r"^Opération n° 2 du lot .*administrateur"):
        facade.importer_lot(lot_valide)
    assert magasin.compter()["operation"] == 0 and transactions == []

    ids = facade.importer_lot([operation, {**operation, "nom": "Parvis"}])
    assert len(ids) == 2 and transactions == [1]  # une seule transaction pour tout le lot
    assert set(magasin.lire_operations()["cree_par"]) == {"ref@sete.fr"}
    assert set(magasin.lire_operations()["validation"]) == {"a_valider"}


def test_octet_nul_refuse_par_le_modele_sur_les_deux_moteurs(magasin):
    creer_compte(magasin, ADMIN, "Alice", "administrateur", [], MDP, auteur="test")
    zone = {"geometrie": box(3.69, 43.40, 3.6902, 43.4002), "revetement_avant": "enrobe", "revetement_apres": "pelouse"}
    operations = [{"nom": f"Op {i}", "code_insee": "34301", "type_site": "parking", "statut": "programmee",
                   "zones": [zone]} for i in range(300)]
    operations[199]["nom"] = "Op\x00 200"
    with pytest.raises(ErreurDonnees) as refus:
        MagasinProtege(magasin, magasin_utilisateur(magasin)).importer_lot(operations)
    assert "Opération n° 200 du lot" in str(refus.value) and "caractère nul" in str(refus.value)
    _sans_trace(str(refus.value))
    assert magasin.compter()["operation"] == 0


def magasin_utilisateur(magasin):
    from donnees.comptes import Utilisateur

    return Utilisateur.depuis_compte(magasin.lire_utilisateur(ADMIN))


# -------------------------------------------------------------------------- kill -9 pendant l'écriture (CLI)

# La CLI réelle, dont l'écriture s'arrête (sans valider) après le premier paquet de 250 opérations : le
# processus est alors tué par SIGKILL en pleine transaction, de façon reproductible.
LANCEUR_LENT = """
import sys, time
sys.path.insert(0, {racine!r})
from donnees.magasin.operations import OperationsMagasin
inserer = OperationsMagasin._inserer_operations
def inserer_puis_attendre(self, conn, propres, *args, **options):
    ids = inserer(self, conn, propres, *args, **options)
    print("PAQUET ECRIT", len(ids), flush=True)
    time.sleep(600)
    return ids
OperationsMagasin._inserer_operations = inserer_puis_attendre
import cli
sys.exit(cli.main(sys.argv[1:]))
"""


def test_kill_9_pendant_un_import_de_3000_lignes_ne_laisse_rien(territoire, tmp_path):
    dossier, url = territoire
    fichier = tmp_path / "operations_3000.csv"
    fichier.write_bytes(_csv_operations(dossier, 3000))
    avant = _compter(url)
    processus = subprocess.Popen(
        [sys.executable, "-c", LANCEUR_LENT.format(racine=str(RACINE)), "operations", "importer", str(fichier),
         "--utilisateur", ADMIN, "--crs", "EPSG:2154"],
        env=_environnement(dossier, url if url != url_base(dossier) else None), cwd=RACINE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ligne = processus.stdout.readline()  # bloque jusqu'au premier paquet écrit (transaction ouverte)
        assert ligne.startswith("PAQUET ECRIT 250"), (ligne, processus.stderr.read()[-3000:])
        os.kill(processus.pid, signal.SIGKILL)
        processus.wait(timeout=30)
    finally:
        if processus.poll() is None:
            processus.kill()
    assert processus.returncode == -signal.SIGKILL
    apres = _compter(url)
    assert apres == avant, (avant, apres)  # rien : ni opération, ni zone, ni ligne de journal
    constats = verifier_donnees(dossier, url)
    assert not [c for c in constats if c.niveau == "erreur"], constats
    assert any(c.sujet == "journal" and c.niveau == "ok" for c in constats)

    # Sans interruption, le même fichier s'importe en entier, en une transaction (progression sur stderr).
    resultat = _cli(_environnement(dossier, url if url != url_base(dossier) else None), "operations", "importer",
                    str(fichier), "--utilisateur", ADMIN, "--crs", "EPSG:2154")
    assert resultat.returncode == 0, resultat.stderr[-3000:]
    assert "3000 opération(s) importée(s)" in resultat.stdout
    assert f"Écriture (une transaction, validée à la fin) : {_n(3000)} / {_n(3000)}" in resultat.stderr
    assert _compter(url)["operation"] == avant["operation"] + 3000


def test_octet_nul_a_la_ligne_200_ne_laisse_rien(territoire, tmp_path):
    dossier, url = territoire
    fichier = tmp_path / "nul.csv"
    fichier.write_bytes(_csv_operations(dossier, 300, nul_a_la_ligne=200))
    avant = _compter(url)
    resultat = _cli(_environnement(dossier, url if url != url_base(dossier) else None), "operations", "importer",
                    str(fichier), "--utilisateur", ADMIN, "--crs", "EPSG:2154")
    assert resultat.returncode == 1
    sortie = resultat.stdout + resultat.stderr
    _sans_trace(sortie)
    assert "nul.csv, ligne 200, champ « nom » : Fichier nul.csv, ligne 200" not in sortie  # pas de doublon de lieu
    assert "ligne 200" in sortie and "caractère nul (octet 0x00) interdit" in sortie
    assert "Import refusé : 1 erreur(s) dans nul.csv (lignes 200). Rien n'a été enregistré." in sortie
    assert _compter(url) == avant

    # Un aperçu préparé sans contrôle (octet nul glissé dans le lot) : la façade refuse tout, sans trace.
    magasin = Magasin(url)
    try:
        table = lire_fichier(fichier, crs_declare="EPSG:2154")
        apercu = preparer_import(table, proposer_correspondance(table))
        assert apercu.lignes_en_erreur == [200] and len(apercu.operations) == 299
        apercu.operations.insert(0, {**apercu.operations[0], "nom": "Glissé\x00"})
        apercu.erreurs = apercu.erreurs.iloc[0:0]
        apercu.lignes_en_erreur = []
        rapport = importer(apercu, MagasinProtege(magasin, magasin_utilisateur(magasin)), ADMIN)
    finally:
        magasin.fermer()
    assert not rapport.ecrit and "Rien n'a été enregistré" in rapport.message
    assert rapport.message.startswith("Import refusé par le magasin : Opération n° 1 du lot (« Glissé\\x00 »), "
                                      "champ « nom » (nom) : caractère nul (octet 0x00) interdit")
    assert "\x00" not in rapport.message  # l'octet est montré, jamais émis
    _sans_trace(rapport.message)
    assert _compter(url) == avant


# ------------------------------------------------------------------- verifier : traces d'un arrêt brutal


def test_verifier_detecte_ce_qu_un_arret_brutal_peut_laisser(dossier_demo_copie):
    dossier = dossier_demo_copie
    url = url_base(dossier)
    _preparer_magasin(dossier, url)
    base = dossier / "desimper.sqlite"

    def erreurs():
        return {c.sujet: c.message for c in verifier_donnees(dossier, url) if c.niveau != "ok"}

    assert not {s: m for s, m in erreurs().items() if s != "base SQLite"}
    # Opération sans journal de création, puis création journalisée sans opération.
    conn = sqlite3.connect(base)
    identifiant = conn.execute("SELECT max(id) FROM operation").fetchone()[0]
    conn.execute("DELETE FROM journal WHERE table_cible = 'operation' AND action = 'creation' "
                 "AND enregistrement_id = ?", (identifiant,))
    conn.execute("INSERT INTO journal (horodatage, auteur, action, table_cible, enregistrement_id, diff) "
                 "VALUES ('2026-01-01', 'x@y.fr', 'creation', 'operation', 999999, '{}')")
    conn.commit()
    conn.close()
    constats = verifier_donnees(dossier, url)
    journal = [c.message for c in constats if c.sujet == "journal" and c.niveau == "erreur"]
    assert journal == [f"1 opération(s) sans ligne de journal de création (n° {identifiant}) : écriture incomplète. "
                       "Vérifiez-les, ou restaurez la dernière sauvegarde.",
                       "1 création(s) journalisée(s) sans opération (n° 999999) : écriture incomplète. Restaurez "
                       "la dernière sauvegarde."]

    # Photos orphelines et fichier provisoire.
    photos = dossier / "photos"
    photos.mkdir(exist_ok=True)
    (photos / ("ab" * 32 + ".jpg")).write_bytes(b"jpeg")
    (photos / ".cd.jpg.123.tmp").write_bytes(b"jpeg")
    messages = [c.message for c in verifier_donnees(dossier, url) if c.sujet == "photos"]
    assert any(m.startswith("1 fichier(s) photo sans opération") for m in messages), messages
    assert any(m.startswith("1 fichier(s) photo provisoire(s) (.tmp)") for m in messages), messages

    # Journal « chaud » d'une transaction inachevée (mode rollback) : signalé, puis annulé à l'ouverture.
    gc.collect()  # connexions des vérifications précédentes fermées (le mode de journal exige la base seule)
    conn = sqlite3.connect(base)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    (base.with_name(base.name + "-journal")).write_bytes(b"\x00" * 512)
    constats = verifier_donnees(dossier, url)
    assert any(c.niveau == "avertissement" and "desimper.sqlite-journal" in c.message
               and "laissé par un arrêt brutal" in c.message for c in constats), constats

    # Base abîmée : integrity_check la signale en erreur.
    base.with_name(base.name + "-journal").unlink(missing_ok=True)
    for suffixe in ("-wal", "-shm"):
        base.with_name(base.name + suffixe).unlink(missing_ok=True)
    conn = sqlite3.connect(base)
    racine = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'operation'").fetchone()[0]
    conn.close()
    octets = bytearray(base.read_bytes())
    taille_page = int.from_bytes(octets[16:18], "big")
    debut = (racine - 1) * taille_page
    octets[debut:debut + 12] = b"\x0d\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00"  # en-tête de page écrasé
    base.write_bytes(bytes(octets))
    constats = verifier_donnees(dossier, url)
    erreurs = [c.message for c in constats if c.niveau == "erreur"]
    assert any("desimper.sqlite" in m and "Restaurez la dernière sauvegarde" in m for m in erreurs), constats
    _sans_trace(" ".join(erreurs))


# ------------------------------------------------------------------------------------------- bornes


def test_limites_documentees_et_justifiees():
    brut = json.loads(seuils.CHEMIN_LIMITES.read_text(encoding="utf-8"))
    justification = brut.pop("justification")
    assert set(brut) == set(justification) and all(len(t) > 40 for t in justification.values())
    assert seuils.limite("lignes_max_fichier") >= 3000  # un import de 3 000 lignes reste possible


def _polygone(nombre: int, centre=(3.6955, 43.405), rayon=0.001) -> Polygon:
    angles = np.linspace(0, 2 * np.pi, nombre, endpoint=False)
    return Polygon(np.column_stack([centre[0] + rayon * np.cos(angles), centre[1] + rayon * np.sin(angles)]))


@pytest.mark.parametrize("format_", ["geojson", "csv"])
def test_polygone_d_un_million_de_sommets_refuse(format_):
    polygone = _polygone(1_000_000)
    proprietes = {"nom": "Énorme", "code_insee": "34301", "type_site": "parking", "statut": "programmee",
                  "revetement_avant": "enrobe", "revetement_apres": "pelouse"}
    if format_ == "geojson":
        octets = json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": proprietes, "geometry": shapely.geometry.mapping(polygone)}]}).encode()
        nom, lieu, champ = "enorme.geojson", "entité n° 1", "géométrie"
    else:
        tampon = io.StringIO()
        ecrivain = csv.writer(tampon)
        ecrivain.writerow([*proprietes, "wkt"])
        ecrivain.writerow([*proprietes.values(), shapely.to_wkt(polygone, rounding_precision=7)])
        octets, nom, lieu, champ = tampon.getvalue().encode(), "enorme.csv", "ligne 2", "géométrie WKT"
    debut = time.perf_counter()
    if format_ == "csv":  # une cellule de plus de 131 072 caractères : refus dès la lecture, à la ligne
        with pytest.raises(ErreurDonnees) as refus:
            lire_fichier(octets, nom)
        assert str(refus.value) == (f"enorme.csv, ligne 2 : une cellule dépasse {_n(131_072)} caractères "
                                    "(géométrie WKT trop détaillée ?). Simplifiez le contour dans votre SIG (outil "
                                    f"« Simplifier », tolérance 0,5 m) : au plus {_n(10_000)} sommets par zone.")
        assert time.perf_counter() - debut < 10
        return
    table = lire_fichier(octets, nom)
    apercu = preparer_import(table)
    duree = time.perf_counter() - debut
    (message,) = [m for m in apercu.erreurs["message"] if "sommets" in m]
    assert message.startswith(f"{nom}, {lieu}, champ « {champ}")
    assert f"contour de {_n(1_000_001)} sommets, plus que le maximum de {_n(10_000)} par zone. Simplifiez-le dans " \
           "votre SIG (outil « Simplifier », tolérance 0,5 m), ou redessinez la zone." in message
    assert not apercu.operations and duree < 30


def _classeur_avec_cellule(adresse: str) -> bytes:
    """Feuille « operations » : en-têtes, une ligne de données, et une cellule isolée à ``adresse``."""
    classeur = openpyxl.Workbook()
    feuille = classeur.active
    feuille.title = "operations"
    feuille.append(["nom", "code_insee"])
    feuille.append(["Cour d'école", "34301"])
    feuille[adresse] = "isolée"
    tampon = io.BytesIO()
    classeur.save(tampon)
    return tampon.getvalue()


def test_xlsx_dont_une_cellule_est_tout_en_bas_refuse_vite():
    """Une seule cellule remplie en A1048576 : openpyxl rendrait un million de lignes vides à parcourir."""
    moment = time.perf_counter()
    with pytest.raises(ErreurDonnees) as refus:
        lire_fichier(_classeur_avec_cellule("A1048576"), "loin.xlsx")
    assert time.perf_counter() - moment < 10
    assert str(refus.value).startswith(
        f"loin.xlsx, feuille « operations » : feuille refusée, plus de {_n(100_000)} lignes à parcourir (lignes "
        "vides comprises)"), str(refus.value)

    # Une cellule isolée plus haut se lit, lignes vides intermédiaires sautées.
    table = lire_fichier(_classeur_avec_cellule("A5000"), "proche.xlsx")
    assert len(table.donnees) == 2 and table.numeros == [2, 5000]


def test_geojson_de_100_000_entites_et_csv_de_200_000_lignes_refuses_vite():
    entite = {"type": "Feature", "properties": {"nom": "A", "code_insee": "34301"},
              "geometry": shapely.geometry.mapping(box(3.69, 43.40, 3.6901, 43.4001))}
    octets = json.dumps({"type": "FeatureCollection", "features": [entite] * 100_000}).encode()
    debut = time.perf_counter()
    with pytest.raises(ErreurDonnees) as refus:
        lire_fichier(octets, "gros.geojson")
    assert time.perf_counter() - debut < 15
    assert str(refus.value) == (f"gros.geojson : fichier refusé, plus de {_n(10_000)} entités (maximum {_n(10_000)}). "
                                "Découpez-le en plusieurs fichiers (par commune ou par année) et importez-les l'un "
                                "après l'autre.")

    lignes = "nom,code_insee,wkt\n" + "A,34301,\"POLYGON((3.69 43.4,3.7 43.4,3.7 43.41,3.69 43.4))\"\n" * 200_000
    debut = time.perf_counter()
    with pytest.raises(ErreurDonnees) as refus:
        lire_fichier(lignes.encode(), "gros.csv")
    assert time.perf_counter() - debut < 5
    assert str(refus.value).startswith(f"gros.csv : fichier refusé, plus de {_n(10_000)} lignes de données (maximum "
                                       f"{_n(10_000)}).")


def test_budget_de_l_apercu_refuse_un_fichier_trop_long_a_preparer(monkeypatch):
    monkeypatch.setattr(seuils.Budget, "depasse", lambda self: True)
    table = lire_fichier(b"nom,code_insee\nA,34301\n", "court.csv")
    with pytest.raises(ErreurDonnees, match=r"^court\.csv : fichier refusé, sa préparation dépasse 120 s"):
        preparer_import(table)


# ------------------------------------------------------------------------------------ GeoPackage hostile


def _geopackage_qui_boucle(chemin: Path) -> Path:
    """GeoPackage dont la première couche est une vue récursive infinie et dont un déclencheur boucle."""
    gpd.GeoDataFrame({"nom": ["A"], "code_insee": ["34301"]}, geometry=[box(3.69, 43.40, 3.6902, 43.4002)],
                     crs=4326).to_file(chemin, layer="zones", driver="GPKG")
    conn = sqlite3.connect(chemin)
    conn.executescript("""
        CREATE VIEW boucle AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n)
          SELECT n.x AS fid, z.geom AS geom, z.nom AS nom, z.code_insee AS code_insee FROM n, zones z;
        CREATE TEMP TABLE copie AS SELECT * FROM gpkg_contents;
        DELETE FROM gpkg_contents;
        INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id)
          VALUES ('boucle', 'features', 'boucle', 4326);
        INSERT INTO gpkg_contents SELECT * FROM copie;
        INSERT INTO gpkg_geometry_columns VALUES ('boucle', 'geom', 'POLYGON', 4326, 0, 0);
        CREATE TRIGGER t_boucle AFTER DELETE ON gpkg_contents BEGIN SELECT count(*) FROM boucle; END;
        CREATE TRIGGER t_zones BEFORE UPDATE ON zones BEGIN SELECT count(*) FROM boucle; END;
    """)
    conn.commit()
    conn.close()
    return chemin


def test_geopackage_a_vue_recursive_et_declencheurs_jamais_executes(tmp_path):
    chemin = _geopackage_qui_boucle(tmp_path / "boucle.gpkg")
    octets = chemin.read_bytes()
    debut = time.perf_counter()
    table = lire_fichier(octets, "boucle.gpkg")  # la vue (première couche) est retirée : « zones » est lue
    assert len(table) == 1 and table.couche == "zones"
    with pytest.raises(ErreurDonnees) as refus:
        lire_fichier(octets, "boucle.gpkg", couche="boucle")
    assert str(refus.value) == "boucle.gpkg : couche « boucle » absente. Couches du fichier : « zones » (Polygon)."
    assert time.perf_counter() - debut < seuils.limite("duree_max_lecture_gpkg_s")
    assert chemin.read_bytes() == octets  # le fichier envoyé n'est pas touché (copie)


def test_geopackage_borne_de_temps_et_colonne_calculee(tmp_path):
    chemin = _geopackage_qui_boucle(tmp_path / "lent.gpkg")
    with pytest.raises(ErreurDonnees) as refus:
        neutraliser_geopackage(chemin, "lent.gpkg", 1e-9)  # budget épuisé : la requête est interrompue
    assert str(refus.value) == ("lent.gpkg : GeoPackage refusé, lecture interrompue après 1e-09 s (fichier fait pour "
                                "boucler ou démesuré). Exportez de nouveau la couche depuis votre SIG (GeoPackage "
                                "simple, sans vue ni déclencheur), ou envoyez-la en GeoJSON.")
    calcule = tmp_path / "calcule.gpkg"
    gpd.GeoDataFrame({"nom": ["A"]}, geometry=[box(3.69, 43.40, 3.6902, 43.4002)], crs=4326).to_file(calcule)
    conn = sqlite3.connect(calcule)
    conn.execute("CREATE TABLE piege (id INTEGER PRIMARY KEY, x TEXT, y TEXT GENERATED ALWAYS AS "
                 "(printf('%.*c', 100000000, 'x')) VIRTUAL)")
    conn.commit()
    conn.close()
    with pytest.raises(ErreurDonnees, match="GeoPackage refusé, la table « piege » a une colonne calculée"):
        lire_fichier(calcule.read_bytes(), "calcule.gpkg")
    with pytest.raises(ErreurDonnees, match="GeoPackage refusé, fichier illisible"):
        lire_fichier(b"SQLite format 3\x00" + b"\x00" * 200, "faux.gpkg")


# ----------------------------------------------------------------------- XLSX et archives hostiles


def _classeur() -> bytes:
    classeur = openpyxl.Workbook()
    feuille = classeur.active
    feuille.title = "operations"
    feuille.append(["nom", "code_insee"])
    feuille.append(["A", "34301"])
    tampon = io.BytesIO()
    classeur.save(tampon)
    return tampon.getvalue()


def _remplacer(octets: bytes, entree: str, contenu: bytes) -> bytes:
    source, sortie = zipfile.ZipFile(io.BytesIO(octets)), io.BytesIO()
    with zipfile.ZipFile(sortie, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            archive.writestr(info.filename, contenu if info.filename == entree else source.read(info.filename))
    return sortie.getvalue()


_FEUILLE = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
            '<c r="A1" t="inlineStr"><is><t>{texte}</t></is></c></row></sheetData></worksheet>')
_LOLS = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
XXE = ('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
       + _FEUILLE.format(texte="&xxe;")).encode()
MILLIARD_DE_RIRES = (f'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol0 "lol">{_LOLS}]>\n'
                     + _FEUILLE.format(texte="&lol9;")).encode()


def _zip(entrees: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    tampon = io.BytesIO()
    with zipfile.ZipFile(tampon, "w", compression) as archive:
        for nom, contenu in entrees.items():
            archive.writestr(nom, contenu)
    return tampon.getvalue()


def _fichiers_hostiles() -> dict[str, tuple[bytes, str]]:
    """Nom → (octets, début exact du message de refus)."""
    classeur = _classeur()
    return {
        "xxe.xlsx": (_remplacer(classeur, "xl/worksheets/sheet1.xml", XXE),
                     "xxe.xlsx : classeur Excel illisible (détail technique : undefined entity &xxe;"),
        "rires.xlsx": (_remplacer(classeur, "xl/worksheets/sheet1.xml", MILLIARD_DE_RIRES),
                       "rires.xlsx : classeur Excel illisible (détail technique : limit on input amplification "
                       "factor (from DTD and entities) breached"),
        "nom_long.zip": (_zip({"a" * 296 + ".shp": b"x"}),
                         "nom_long.zip : archive refusée, un nom de fichier y dépasse 255 octets (« aaaa"),
        "nom_long.xlsx": (_zip({**{i.filename: zipfile.ZipFile(io.BytesIO(classeur)).read(i.filename)
                                   for i in zipfile.ZipFile(io.BytesIO(classeur)).infolist()},
                                "xl/" + "b" * 300 + ".xml": b"<a/>"}),
                          "nom_long.xlsx : archive refusée, un nom de fichier y dépasse 255 octets"),
        "bombe.zip": (_zip({"bombe.shp": b"\0" * (150 * 2**20)}, zipfile.ZIP_DEFLATED),
                      "bombe.zip : archive refusée, « bombe.shp » est anormalement compressé ("),
    }


@pytest.fixture(scope="module")
def fichiers_hostiles() -> dict[str, tuple[bytes, str]]:
    return _fichiers_hostiles()


def test_fichiers_hostiles_refuses_en_francais_par_la_lecture(fichiers_hostiles, caplog):
    for nom, (octets, debut) in fichiers_hostiles.items():
        moment = time.perf_counter()
        with pytest.raises(ErreurDonnees) as refus:
            lire_fichier(octets, nom)
        assert time.perf_counter() - moment < 10, nom
        assert str(refus.value).startswith(debut), (nom, str(refus.value))
        _sans_trace(str(refus.value))
    assert "Traceback" not in caplog.text  # consigné sans trace (la CLI l'afficherait)


def test_fichiers_hostiles_refuses_par_la_cli_sans_trace(fichiers_hostiles, dossier_demo_copie, tmp_path,
                                                        monkeypatch, capsys):
    """Chaque fichier hostile par ``cli.main`` (le point d'entrée de `desimper`, dans ce processus : une exception
    non traduite y remonterait et ferait échouer le test) ; le GeoPackage qui boucle par la vraie commande, dans
    un processus à part (borne de temps comprise)."""
    import cli

    _preparer_magasin(dossier_demo_copie, url_base(dossier_demo_copie))
    avant = _compter(url_base(dossier_demo_copie))
    monkeypatch.setenv("DESIMPER_DONNEES", str(dossier_demo_copie))
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    for nom, (octets, debut) in fichiers_hostiles.items():
        chemin = tmp_path / nom
        chemin.write_bytes(octets)
        code = cli.main(["operations", "importer", str(chemin), "--utilisateur", ADMIN])
        sortie, erreur = capsys.readouterr()
        assert code == 2, (nom, erreur[-2000:])
        assert erreur.startswith(f"Erreur : {debut}"), (nom, erreur[-2000:])
        _sans_trace(sortie + erreur)

    geopackage = _geopackage_qui_boucle(tmp_path / "boucle.gpkg")
    resultat = _cli(_environnement(dossier_demo_copie, None), "operations", "importer", str(geopackage),
                    "--utilisateur", ADMIN, "--couche", "boucle", delai=60)
    assert resultat.returncode == 2, resultat.stderr[-2000:]
    assert resultat.stderr.startswith("Erreur : boucle.gpkg : couche « boucle » absente."), resultat.stderr[-2000:]
    _sans_trace(resultat.stdout + resultat.stderr)
    assert _compter(url_base(dossier_demo_copie)) == avant


# ------------------------------------------------------------------------------------------ page Importer


class _FichierTeleverse:
    """Ce que ``st.file_uploader`` renvoie (AppTest ne sait pas téléverser) : nom et octets."""

    def __init__(self, nom: str, octets: bytes):
        self.name, self._octets, self.size = nom, octets, len(octets)

    def getvalue(self) -> bytes:
        return self._octets


def _page_importer(monkeypatch, dossier: Path, fichier: _FichierTeleverse | None):
    import streamlit
    from outils import lancer_appli

    _preparer_magasin(dossier, url_base(dossier))
    magasin = Magasin(url_base(dossier))
    administrateur = magasin_utilisateur(magasin)
    magasin.fermer()
    monkeypatch.setattr(streamlit, "file_uploader", lambda *args, **options: fichier)
    appli = lancer_appli(monkeypatch, dossier, administrateur)
    appli.switch_page("pages/importer.py").run()
    assert not appli.exception, appli.exception
    return appli


def _textes(appli) -> str:
    return " ".join(str(e.value) for genre in ("error", "warning", "info", "markdown", "caption", "exception")
                    for e in getattr(appli, genre))


def test_page_importer_refuse_les_fichiers_hostiles_sans_trace(monkeypatch, dossier_demo_copie, fichiers_hostiles):
    for nom in ("xxe.xlsx", "nom_long.zip", "bombe.zip"):
        octets, debut = fichiers_hostiles[nom]
        appli = _page_importer(monkeypatch, dossier_demo_copie, _FichierTeleverse(nom, octets))
        assert [e.value for e in appli.error if e.value.startswith(debut)], (nom, _textes(appli))
        _sans_trace(_textes(appli))


def test_page_importer_garde_l_apercu_en_cache(monkeypatch, dossier_demo_copie):
    import donnees.import_operations as paquet

    appels = []
    preparer = paquet.preparer_import
    monkeypatch.setattr(paquet, "preparer_import", lambda *a, **o: appels.append(1) or preparer(*a, **o))
    fichier = _FichierTeleverse("trois.csv", _csv_operations(dossier_demo_copie, 3))
    appli = _page_importer(monkeypatch, dossier_demo_copie, fichier)
    appli.text_input(key="import_crs").input("EPSG:2154").run()
    assert not appli.exception and len(appels) == 2  # le système a changé : aperçu recalculé
    assert [m.value for m in appli.metric if m.label == "Erreurs"] == ["0"], _textes(appli)
    appli.radio(key="import_mode").set_value("lignes_valides").run()
    appli.radio(key="import_mode").set_value("tout_ou_rien").run()
    assert not appli.exception and len(appels) == 2  # deux clics : aucun recalcul
    avant = _compter(url_base(dossier_demo_copie))["operation"]
    (bouton,) = [b for b in appli.button if b.label == "Importer"]
    bouton.click().run()
    assert not appli.exception, appli.exception
    assert _compter(url_base(dossier_demo_copie))["operation"] == avant + 3
    assert "3 opération(s) importée(s) depuis trois.csv." in _textes(appli) + " ".join(
        str(e.value) for e in appli.success)


def test_panne_de_la_base_pendant_l_ecriture_du_lot_message_francais():
    """Une erreur SQL (disque plein, base perdue) pendant l'écriture du lot : rapport français, ni SQL ni trace."""
    from sqlalchemy.exc import OperationalError

    class MagasinEnPanne:
        def importer_lot(self, operations, auteur, progression=None):
            raise OperationalError("INSERT INTO operation (nom) VALUES (?)", ("A",),
                                   Exception("database or disk is full"))

    table = lire_fichier(b"nom,code_insee,type_site,statut,revetement_avant,revetement_apres,wkt\n"
                         b"A,34301,parking,programmee,enrobe,pelouse,\"POLYGON((3.69 43.4,3.6902 43.4,3.6902 43.4002,"
                         b"3.69 43.4))\"\n", "panne.csv")
    apercu = preparer_import(table)
    assert apercu.operations, apercu.erreurs["message"].tolist()
    rapport = importer(apercu, MagasinEnPanne(), ADMIN)
    assert not rapport.ecrit and rapport.message == (
        "Import de panne.csv impossible : la base des opérations n'a pas pu enregistrer le lot (base indisponible, "
        "disque plein ou donnée refusée par la base). Rien n'a été enregistré. Réessayez plus tard ; si le problème "
        "persiste, prévenez l'administrateur.")
    _sans_trace(rapport.message)
