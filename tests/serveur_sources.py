"""Serveur HTTP local (127.0.0.1) qui imite geo.api.gouv.fr et cadastre.data.gouv.fr, avec des pannes.

Adresses servies (mêmes chemins que les sources officielles) :

- ``/communes?code=34301[,34157…]&format=geojson&geometry=contour&fields=code,nom,population`` :
  ``../shared/data/communes-bassin-thau.geojson`` remis dans la forme de geo.api.gouv.fr (propriétés
  ``code``, ``nom``, ``population``), filtré par les codes demandés (un code inconnu est simplement absent) ;
- ``/data/etalab-cadastre/latest/geojson/communes/<dep>/<insee>/cadastre-<insee>-<parcelles|batiments>.json.gz`` :
  pour 34202, l'échantillon Etalab de ``../shared/data`` compressé à la volée ; sinon 404 ;
- tout chemin ajouté à ``serveur.fichiers`` (contenu fabriqué par un test), servi tel quel.

Pannes injectables par chemin (sans la requête) dans ``serveur.pannes`` : ``"404"``, ``"500"``,
``"500_puis_ok"`` (une fois 500 puis normal), ``"lenteur"`` (ne répond pas avant la fin du test),
``"gzip_tronque"`` (moitié du gzip, taille annoncée cohérente), ``"incomplet"`` (taille annoncée plus
grande que le corps). ``serveur.requetes`` garde les chemins demandés.
"""

from __future__ import annotations

import gzip
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from outils import chemin_partage

PREFIXE_CADASTRE = "/data/etalab-cadastre/latest/geojson/communes/"
DATE_SERVEUR = "Tue, 01 Apr 2025 00:00:00 GMT"


def fichier_partage(nom: str) -> Path:
    """Chemin d'un fichier de ``../shared/data`` ; test ignoré s'il manque (échec sous CI=true)."""
    return chemin_partage("data", nom)


def communes_geo_api(codes: list[str]) -> dict:
    """Communes du fichier partagé dans la forme de geo.api.gouv.fr, pour les codes demandés."""
    contenu = json.loads(fichier_partage("communes-bassin-thau.geojson").read_text(encoding="utf-8"))
    entites = []
    for entite in contenu["features"]:
        p = entite["properties"]
        if p["code_insee"] in codes:
            entites.append({"type": "Feature", "geometry": entite["geometry"],
                            "properties": {"code": p["code_insee"], "nom": p["nom"],
                                           "population": p["population_municipale"]}})
    return {"type": "FeatureCollection", "features": entites}


class ServeurSources:
    """Serveur de fichiers sur un port libre de 127.0.0.1 ; ``url`` est son adresse de base."""

    def __init__(self):
        self.pannes: dict[str, str] = {}
        self.fichiers: dict[str, bytes] = {}
        self.requetes: list[str] = []
        self.fin = threading.Event()
        serveur = self

        class Gestionnaire(BaseHTTPRequestHandler):
            def log_message(self, *args):  # silencieux
                pass

            def do_GET(self):  # noqa: N802 - nom imposé par http.server
                serveur.repondre(self)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Gestionnaire)
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._fil = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._fil.start()

    def arreter(self) -> None:
        self.fin.set()
        self._http.shutdown()
        self._http.server_close()

    def nombre_requetes(self, fragment: str) -> int:
        return sum(fragment in r for r in self.requetes)

    def contenu(self, chemin: str, requete: dict) -> bytes | None:
        if chemin in self.fichiers:
            return self.fichiers[chemin]
        if chemin == "/communes":
            codes = [c for v in requete.get("code", []) for c in v.split(",") if c]
            return json.dumps(communes_geo_api(codes), ensure_ascii=False).encode("utf-8")
        if chemin.startswith(PREFIXE_CADASTRE):
            nom = chemin.rsplit("/", 1)[-1]
            for couche in ("parcelles", "batiments"):
                if nom == f"cadastre-34202-{couche}.json.gz" and chemin.endswith(f"/34/34202/{nom}"):
                    brut = fichier_partage(f"cadastre-34202-{couche}-echantillon.json").read_bytes()
                    return gzip.compress(brut, mtime=0)
        return None

    def repondre(self, gestionnaire: BaseHTTPRequestHandler) -> None:
        morceaux = urllib.parse.urlsplit(gestionnaire.path)
        chemin = morceaux.path
        self.requetes.append(gestionnaire.path)
        panne = self.pannes.get(chemin)
        if panne == "500_puis_ok":
            self.pannes.pop(chemin)
            panne = "500"
        if panne == "lenteur":
            self.fin.wait(10)
            return
        if panne in ("404", "500"):
            gestionnaire.send_error(int(panne))
            return
        corps = self.contenu(chemin, urllib.parse.parse_qs(morceaux.query))
        if corps is None:
            gestionnaire.send_error(404)
            return
        longueur = len(corps)
        if panne == "gzip_tronque":
            corps = corps[: len(corps) // 2]
            longueur = len(corps)
        elif panne == "incomplet":
            longueur = len(corps) + 1000
        gestionnaire.send_response(200)
        type_contenu = "application/gzip" if chemin.endswith(".gz") else "application/json; charset=utf-8"
        gestionnaire.send_header("Content-Type", type_contenu)
        gestionnaire.send_header("Content-Length", str(longueur))
        gestionnaire.send_header("Last-Modified", DATE_SERVEUR)
        gestionnaire.end_headers()
        try:
            gestionnaire.wfile.write(corps)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if panne == "incomplet":
            gestionnaire.close_connection = True
